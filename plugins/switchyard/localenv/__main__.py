"""``python -m switchyard.localenv up``: the local environment in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from switchyard.engine.errors import SwitchyardError
from switchyard.localenv.behaviours import ConfigError
from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m switchyard.localenv",
        description="Switchyard's local environment: Kubernetes API emulator, "
        "Prometheus emulator and local AWS (moto), seeded from a model.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start everything in the foreground; Ctrl-C stops it")
    up.add_argument(
        "--model",
        action="append",
        help="model file to seed from; repeat it to seed several apps, the first one's namespace going "
        f"into the connection files (default: {DEFAULT_MODEL.relative_to(DEFAULT_MODEL.parents[2])})",
    )
    up.add_argument(
        "--behaviours",
        action="append",
        help="YAML file: behaviours by image or tag (include/behaviours/...); repeatable, one per app "
        "(a file's 'app:' names the model it describes, else the first)",
    )
    up.add_argument("--faults", help="YAML file: API faults to inject from the start")
    up.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second (default: %(default)s)",
    )
    up.add_argument(
        "--state-dir",
        default=".local-env",
        help="where the kubeconfig and connection files go (default: %(default)s)",
    )
    up.add_argument("--kube-port", type=int, default=0, help="Kubernetes API port (default: a free one)")
    up.add_argument(
        "--prometheus-port", type=int, default=0, help="Prometheus API port (default: a free one)"
    )
    up.add_argument("--aws-port", type=int, default=0, help="moto port (default: a free one)")
    up.add_argument("--no-aws", action="store_true", help="do not start local AWS")
    up.add_argument(
        "--host",
        default="127.0.0.1",
        help="address every server binds to; 0.0.0.0 in a container (default: %(default)s)",
    )
    up.add_argument(
        "--advertise-host",
        help="host name clients use, written into the kubeconfig and connection files "
        "(default: the bind address, loopback for 0.0.0.0)",
    )
    up.add_argument(
        "--rbac",
        metavar="MANIFEST",
        action="append",
        help="enforce the Roles/RoleBindings of this manifest (e.g. deploy/rbac.yaml; repeatable) "
        "for its first ServiceAccount: other requests get 403",
    )
    up.add_argument(
        "--restore",
        action="store_true",
        help="keep the cluster in the state dir: restore it at start (when saved), save it while "
        "running and at stop",
    )
    up.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
    )
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    env = LocalEnvironment(
        args.model or DEFAULT_MODEL,
        behaviours=args.behaviours,
        faults=args.faults,
        time_scale=args.time_scale,
        state_dir=Path(args.state_dir).resolve(),
        kube_port=args.kube_port,
        prometheus_port=args.prometheus_port,
        aws_port=args.aws_port,
        with_aws=not args.no_aws,
        host=args.host,
        advertise_host=args.advertise_host,
        rbac=args.rbac,
        restore=args.restore,
    )
    try:
        env.start()
    except (ConfigError, SwitchyardError, OSError) as exc:  # bad input or a busy port: say why, no traceback
        print(f"✗ cannot start the local environment: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("✓ Switchyard local environment is up")
    for line in env.status_lines():
        print(f"  {line}")
    print(f"  try            kubectl --kubeconfig {env.kubeconfig_path} get deploy -A")
    print("  Ctrl-C stops it.", flush=True)
    try:
        stop.wait()
    finally:
        print("· stopping ...", flush=True)
        env.stop()
        print("✓ stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
