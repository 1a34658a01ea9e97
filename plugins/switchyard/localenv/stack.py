"""``make stack``: the production topology of docker-compose.yaml on one machine, as processes.

PostgreSQL (its own cluster under the state dir, on a free loopback port — never the system
instance), ``airflow db migrate``, api-server, scheduler, dag-processor, triggerer, and the local
environment standing in for EKS and AWS; with ``--executor celery`` also redis-server and two
Celery workers. Everything binds 127.0.0.1. The Airflow settings come from ``deploy/airflow.env``
(the file docker-compose.yaml reads too); this module adds only what depends on where things run.

The state dir keeps the database, the task logs, the run artefacts and the local environment's
cluster, so a second start (``make ui`` after ``make demo``) shows the same runs and cluster.
One stack per state dir: a second start while one runs says where the first one is and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchyard.localenv.airflow_api import AirflowApi
from switchyard.localenv.connections import airflow_connections, env_vars

ROOT = Path(__file__).resolve().parents[3]
SETTINGS_FILE = ROOT / "deploy" / "airflow.env"
PRELOAD_ENV = "SWITCHYARD_PRELOAD_TASK_IMPORTS"  # switchyard.airflow.preload (not imported here)
DEFAULT_STATE_DIR = ROOT / ".local-env" / "stack"
INCLUDE = ROOT / "include"
FIRST_APP = "acme-shop"  # the demo's: the local environment's connection files take its namespace
POSTGRES_BINARIES = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))
ADMIN = "admin"


def local_apps(include: Path = INCLUDE) -> list[tuple[Path, Path | None]]:
    """Every model of ``include/models`` (acme-shop first) with its ``include/behaviours/<app>.yaml``
    when there is one: the local environment seeds them all, so every release DAG the UI lists can
    run against it."""
    models = sorted(
        (include / "models").glob("*.model.yaml"),
        key=lambda p: (p.name != f"{FIRST_APP}.model.yaml", p.name),
    )
    apps = []
    for model in models:
        behaviours = include / "behaviours" / model.name.replace(".model.yaml", ".yaml")
        apps.append((model, behaviours if behaviours.is_file() else None))
    return apps


def local_env_app_args(apps: list[tuple[Path, Path | None]], root: Path | None = None) -> list[str]:
    """The local environment's ``--model``/``--behaviours`` arguments for these apps: absolute paths,
    or relative to ``root`` as docker-compose.yaml's localenv command writes them."""

    def where(path: Path) -> Path:
        return path.relative_to(root) if root else path

    args = [f"--model={where(model)}" for model, _ in apps]
    return args + [f"--behaviours={where(b)}" for _, b in apps if b is not None]


class StackError(RuntimeError):
    """The stack cannot start; the message says what is missing and how to get it."""


def read_settings(path: Path = SETTINGS_FILE) -> dict[str, str]:
    """``KEY=VALUE`` lines of the shared settings file (comments and blank lines skipped)."""
    settings = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise StackError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        settings[key.strip()] = value.strip()
    return settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait(what: str, ready: Callable[[], bool], timeout: float, processes: list[Process]) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        for process in processes:
            if process.popen is not None and process.popen.poll() is not None:
                raise StackError(
                    f"{process.name} exited with {process.popen.returncode} while waiting for {what}; "
                    f"its log ({process.log_path}) ends with:\n{process.tail()}"
                )
        if time.monotonic() > deadline:
            raise StackError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.3)


def as_user(user: str | None) -> dict[str, Any]:
    """subprocess arguments that run a child as ``user`` with that user's group alone (keeping
    root's group would let a root-owned folder's group bits, not its "other" bits, decide)."""
    if not user:
        return {}
    return {"user": user, "group": user, "extra_groups": []}


def _let_through(folder: Path) -> None:
    """Let the postgres user reach ``folder`` (search permission on its ancestors, nothing more):
    a state dir under a private folder (a test's tmp dir) is otherwise out of its reach."""
    for ancestor in [folder.resolve(), *folder.resolve().parents]:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            ancestor.chmod(mode | stat.S_IXOTH)


def _http_ok(url: str, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status < 400
    except OSError:
        return False


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    user: str | None = None
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopping it stops its children too
            cwd=ROOT,
            **as_user(self.user),
        )
        log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.popen is not None
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# Stopped after the Airflow components, which still talk to them while they shut down.
LAST_TO_STOP = ("postgres", "redis", "localenv")


@contextlib.contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """SIGINT ignored inside (only in the main thread, where handlers can be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class Stack:
    """The stack's processes and where to reach them. ``start()`` returns when every component
    is healthy (the api-server answers and reports scheduler, triggerer and dag-processor alive)."""

    state_dir: Path = DEFAULT_STATE_DIR
    executor: str = "local"  # or "celery"
    api_port: int = 0  # 0: 8080 when free, else any free port
    time_scale: float = 1.0
    # the apps the local environment seeds: (model, behaviours file or None)
    apps: list[tuple[Path, Path | None]] = field(default_factory=local_apps)
    quiet: bool = False
    # Airflow settings over the shared ones, for every component (the tests' stacks set a few)
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    _lock_file: Any = None

    # ------------------------------------------------------------------ paths and settings
    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow-home"

    @property
    def artifacts_dir(self) -> Path:
        return self.state_dir / "artifacts"

    @property
    def localenv_dir(self) -> Path:
        return self.state_dir / "localenv"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.localenv_dir / "kubeconfig.yaml"

    @property
    def kube_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['kube']}"

    @property
    def aws_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['aws']}"

    def password(self) -> str:
        """The admin's password: made once per state dir, kept in SimpleAuthManager's file."""
        path = self.airflow_home / "simple_auth_manager_passwords.json"
        if path.exists():
            return json.loads(path.read_text())[ADMIN]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({ADMIN: secrets.token_urlsafe(12)}))
        path.chmod(0o600)
        return self.password()

    def _secret(self, name: str, nbytes: int = 48) -> str:
        path = self.state_dir / f".{name}"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(nbytes))
            path.chmod(0o600)
        return path.read_text().strip()

    def api(self) -> AirflowApi:
        return AirflowApi(self.url, ADMIN, self.password())

    def environment(self) -> dict[str, str]:
        """Every Airflow process's environment: the shared settings, then what depends on here."""
        bin_dir = str(Path(sys.executable).parent)
        conns = airflow_connections(
            kubeconfig_path=str(self.kubeconfig_path),
            namespace="default",
            aws_endpoint=self.aws_endpoint,
            region="eu-central-1",
            prometheus_url=f"http://127.0.0.1:{self.ports['prometheus']}",
        )
        conns["airflow_api"] = {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": self.ports["api"],
            "schema": "http",
            "login": ADMIN,
            "password": self.password(),
        }
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHONPATH"))},
            **read_settings(),
            "AIRFLOW_HOME": str(self.airflow_home),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            # deploy/config: airflow_local_settings (docker-compose mounts it as $AIRFLOW_HOME/config)
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "plugins"), str(ROOT / "include"), str(ROOT / "deploy" / "config")]
            ),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                f"postgresql+psycopg2://airflow@127.0.0.1:{self.ports['postgres']}/airflow"
            ),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt-secret"),
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                self.airflow_home / "simple_auth_manager_passwords.json"
            ),
            # Several stacks (a user's and the tests') may run at once: no fixed port anywhere.
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.ports["scheduler_health"]),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports["worker_logs"]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.ports["trigger_logs"]),
            "SWITCHYARD_ARTIFACTS_DIR": str(self.artifacts_dir),
            **env_vars(conns),
        }
        if self.executor == "celery":
            env["AIRFLOW__CORE__EXECUTOR"] = "CeleryExecutor"
            env["AIRFLOW__CELERY__BROKER_URL"] = f"redis://127.0.0.1:{self.ports['redis']}/0"
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = (
                f"db+postgresql+psycopg2://airflow@127.0.0.1:{self.ports['postgres']}/airflow"
            )
        env.update(self.settings)
        return env

    # ------------------------------------------------------------------ lifecycle
    def _say(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)

    def _claim(self) -> None:
        """One stack per state dir (a lock held for the stack's lifetime)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = (self.state_dir / "stack.lock").open("a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = self.state_dir / "stack.json"
            where = json.loads(running.read_text()) if running.exists() else {}
            self._lock_file.close()
            self._lock_file = None
            raise StackError(
                f"a stack is already running on {self.state_dir} (pid {where.get('pid', '?')}, "
                f"UI {where.get('url', '?')}): use it, or stop it with Ctrl-C in its terminal"
            ) from None

    def start(self) -> Stack:
        self._claim()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        started = time.monotonic()
        for name in (
            "postgres",
            "kube",
            "prometheus",
            "aws",
            "scheduler_health",
            "worker_logs",
            "trigger_logs",
        ):
            self.ports[name] = free_port()
        self.ports["api"] = self.api_port or (8080 if _port_free(8080) else free_port())
        if self.executor == "celery":
            self.ports["redis"] = free_port()
        logs = self.state_dir / "logs"
        self._start_postgres(logs)
        self._start_localenv(logs)
        env = self.environment()
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        self.password()
        self._say("· airflow db migrate")
        migrate = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        (logs / "db-migrate.log").write_text(migrate.stdout + migrate.stderr)
        if migrate.returncode:
            raise StackError(f"airflow db migrate failed:\n{(migrate.stdout + migrate.stderr)[-3000:]}")
        airflow = [sys.executable, "-m", "airflow"]
        components = [
            (
                "api-server",
                [*airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.ports["api"])],
                {},
            ),
            ("scheduler", [*airflow, "scheduler"], {PRELOAD_ENV: "1"}),  # LocalExecutor forks tasks here
            ("dag-processor", [*airflow, "dag-processor"], {}),
            ("triggerer", [*airflow, "triggerer"], {}),
        ]
        if self.executor == "celery":
            self._start_redis(logs)
            for number in (1, 2):
                worker_env = {
                    **env,
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                    PRELOAD_ENV: "1",  # the worker forks the tasks (switchyard.airflow.preload)
                }
                self.processes.append(
                    Process(
                        f"celery-worker-{number}",
                        [*airflow, "celery", "worker", "--celery-hostname", f"worker{number}@%h"],
                        worker_env,
                        logs / f"celery-worker-{number}.log",
                    )
                )
                self.processes[-1].start()
        for name, argv, extra_env in components:
            process = Process(name, argv, {**env, **extra_env}, logs / f"{name}.log")
            process.start()
            self.processes.append(process)
        self._say(f"· waiting for the api-server on {self.url}")
        _wait("the api-server", lambda: _http_ok(f"{self.url}/api/v2/version"), 180, self.processes)
        # The execution API builds its versioned routes at its first request (seconds of CPU): made
        # here, not by the first task's supervisor, whose calls time out meanwhile on a loaded machine.
        _wait("the execution API", lambda: _http_ok(f"{self.url}/execution/health", 60), 180, self.processes)
        _wait("scheduler, triggerer and dag-processor", self._healthy, 180, self.processes)
        try:  # the api-server that answered is ours (not another Airflow already on this port)
            self.api().request("GET", "/version")
        except Exception as exc:
            raise StackError(
                f"{self.url} answers but does not accept this stack's admin password ({exc}): another "
                "Airflow is on that port; stop it or pass --port"
            ) from None
        (self.state_dir / "stack.json").write_text(
            json.dumps({"pid": os.getpid(), "url": self.url, "ports": self.ports, "executor": self.executor})
        )
        self._say(f"· up in {time.monotonic() - started:.0f} s")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=3) as answer:
                health = json.load(answer)
        except (OSError, ValueError):
            return False
        wanted = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return all((health.get(name) or {}).get("status") == "healthy" for name in wanted)

    def _start_postgres(self, logs: Path) -> None:
        binaries = next((b for b in POSTGRES_BINARIES if (b / "postgres").exists()), None)
        if binaries is None:
            raise StackError(
                "PostgreSQL 15 is not installed: `make stack` installs it (Debian's postgresql) when run "
                "as root; otherwise `apt-get install postgresql`"
            )
        data = self.state_dir / "postgres"
        sockets = self.state_dir / "postgres-sockets"
        # PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
        user = "postgres" if os.geteuid() == 0 else None
        for folder in (data.parent, sockets):
            folder.mkdir(parents=True, exist_ok=True)
        if user:
            _let_through(data.parent)
            shutil.chown(sockets, user)
            sockets.chmod(0o700)
        fresh = not (data / "PG_VERSION").exists()
        if fresh:
            self._say("· initdb (a PostgreSQL cluster of the stack's own)")
            data.mkdir(exist_ok=True)
            if user:
                shutil.chown(data, user)
            done = subprocess.run(
                [str(binaries / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8"],
                capture_output=True,
                text=True,
                cwd="/",
                **as_user(user),
            )
            if done.returncode:
                raise StackError(f"initdb failed: {done.stderr.strip()[-2000:]}")
        postgres = Process(
            "postgres",
            [
                str(binaries / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.ports["postgres"]),
                "-k",
                str(sockets),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=off",  # a local, throwaway database: speed over crash safety
            ],
            {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
            logs / "postgres.log",
            user=user,
        )
        if user:
            logs.mkdir(parents=True, exist_ok=True)
            postgres.log_path.touch()
        postgres.start()
        self.processes.append(postgres)
        import psycopg2

        def accepting() -> bool:
            try:
                psycopg2.connect(
                    host="127.0.0.1", port=self.ports["postgres"], user="airflow", dbname="postgres"
                ).close()
            except psycopg2.OperationalError:
                return False
            return True

        _wait("PostgreSQL", accepting, 60, [postgres])
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.ports["postgres"], user="airflow", dbname="postgres"
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'airflow'")
            if cursor.fetchone() is None:
                cursor.execute("CREATE DATABASE airflow")
        connection.close()

    def _start_redis(self, logs: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise StackError(
                "redis-server is not installed (CeleryExecutor's broker): `make stack-celery` installs it "
                "(Debian's redis-server) when run as root; otherwise `apt-get install redis-server`"
            )
        redis = Process(
            "redis",
            [
                binary,
                "--port",
                str(self.ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            {"PATH": os.environ.get("PATH", "")},
            logs / "redis.log",
        )
        redis.start()
        self.processes.append(redis)

        def answering() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.ports["redis"]), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        _wait("redis-server", answering, 30, [redis])

    def _start_localenv(self, logs: Path) -> None:
        argv = [
            sys.executable,
            "-m",
            "switchyard.localenv",
            "up",
            "--state-dir",
            str(self.localenv_dir),
            "--kube-port",
            str(self.ports["kube"]),
            "--prometheus-port",
            str(self.ports["prometheus"]),
            "--aws-port",
            str(self.ports["aws"]),
            "--time-scale",
            str(self.time_scale),
            "--restore",
        ]
        argv += local_env_app_args(self.apps)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include")]),
        }
        localenv = Process("localenv", argv, env, logs / "localenv.log")
        localenv.start()
        self.processes.append(localenv)
        self._say("· local environment (Kubernetes API emulator, Prometheus, local AWS)")
        _wait(
            "the local environment",
            lambda: (
                _http_ok(f"{self.kube_url}/readyz")
                and _http_ok(f"http://127.0.0.1:{self.ports['prometheus']}/-/ready")
            ),
            90,
            [localenv],
        )

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def restart(self, name: str) -> None:
        """Stop a component and start it again (a triggerer restart, say)."""
        process = self.process(name)
        process.stop()
        process.start()

    def stop(self) -> None:
        # Airflow first (tasks end while their API and database are there), the database last.
        # A second Ctrl-C while stopping must not leave the rest running: it is ignored until done.
        with _interrupts_ignored():
            airflow = [p for p in reversed(self.processes) if p.name not in LAST_TO_STOP]
            last = [p for p in reversed(self.processes) if p.name in LAST_TO_STOP]
            for process in airflow:  # SIGTERM to all at once, then wait: not 20 s per component
                process.signal(signal.SIGTERM)
            for process in airflow + last:
                process.stop()
        self.processes.clear()
        if self._lock_file is not None:
            (self.state_dir / "stack.json").unlink(missing_ok=True)
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def banner(self) -> list[str]:
        return [
            f"UI            {self.url}   (user {ADMIN}, password {self.password()})",
            f"REST API      {self.url}/api/v2   (token: POST {self.url}/auth/token)",
            f"kubectl       kubectl --kubeconfig {self.kubeconfig_path} get deploy,svc",
            f"logs          {self.state_dir / 'logs'}",
            f"executor      {'CeleryExecutor (2 workers, redis)' if self.executor == 'celery' else 'LocalExecutor'}",
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m switchyard.localenv.stack",
        description="Airflow's production topology on this machine (PostgreSQL, api-server, scheduler, "
        "dag-processor, triggerer) with the local environment, until Ctrl-C.",
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="default: %(default)s")
    parser.add_argument("--executor", choices=["local", "celery"], default="local")
    parser.add_argument("--port", type=int, default=0, help="api-server port (default: 8080 when free)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second in the local environment (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    stack = Stack(
        state_dir=args.state_dir.resolve(),
        executor=args.executor,
        api_port=args.port,
        time_scale=args.time_scale,
    )
    stop = False

    def request_stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, request_stop)  # the terminal closed: stop, do not orphan
    try:
        stack.start()
    except StackError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        stack.stop()
        return 1
    except KeyboardInterrupt:
        stack.stop()
        return 130
    print("✓ Switchyard stack is up")
    for line in stack.banner():
        print(f"  {line}")
    print("  Ctrl-C stops every process it started.", flush=True)
    try:
        while not stop:
            dead = [p.name for p in stack.processes if not p.alive()]
            if dead:
                print(f"✗ {', '.join(dead)} stopped; see {stack.state_dir / 'logs'}", file=sys.stderr)
                break
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    print("· stopping ...", flush=True)
    stack.stop()
    print("✓ stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
