"""Import what release tasks import once, in the process that forks them, instead of in every task.

The LocalExecutor forks each task from its worker processes (themselves forked from the scheduler);
a Celery worker forks each task from its pool processes. A release task imports the Kubernetes
client, the providers' hooks, boto3 and the release domain inside ``execute`` (so that parsing the
DAG file stays cheap): about a second of CPU at every task start and at every resume after a
deferral, some 40 times per release. Imported once in the forking process, every task starts with
them (as gunicorn's ``preload_app`` does for its workers).

``install()`` is called from ``airflow_local_settings`` (``deploy/config/``), which every Airflow
process imports while its settings initialise. It does nothing unless
``SWITCHYARD_PRELOAD_TASK_IMPORTS`` is set — ``make stack`` and docker-compose set it for the
scheduler and the Celery workers only — and then imports just before the process first forks:
by then Airflow is initialised (importing provider hooks while Airflow's own settings initialise
would import Airflow half-way). A module that fails to import is skipped: the task imports it as
it would have, and reports its error there.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import pkgutil
import time

ENV = "SWITCHYARD_PRELOAD_TASK_IMPORTS"

# What the operators import inside execute, beside our own packages (walked below).
THIRD_PARTY = (
    "kubernetes.client",
    "kubernetes.config",
    "airflow.providers.cncf.kubernetes.hooks.kubernetes",
    "airflow.providers.amazon.aws.hooks.base_aws",
    "airflow.providers.http.hooks.http",
    "airflow.providers.standard.triggers.temporal",
    "boto3",
)
# Our packages whose modules the tasks import; ui/ is the api-server's, localenv/ is not for tasks.
OWN_PACKAGES = ("switchyard.engine", "switchyard.release", "switchyard.probes", "switchyard.airflow")
SKIPPED = ("switchyard.airflow.ui",)

log = logging.getLogger(__name__)
_state = {"installed": False, "warmed": False}


def install() -> bool:
    """Import the task modules before this process first forks, if ``$SWITCHYARD_PRELOAD_TASK_IMPORTS``
    says so. True when installed."""
    if _state["installed"] or os.environ.get(ENV, "").lower() not in ("1", "true", "yes"):
        return False
    os.register_at_fork(before=warm)
    _state["installed"] = True
    return True


def task_modules() -> list[str]:
    """The modules to import: the third-party ones, then every module of our task-side packages."""
    names = list(THIRD_PARTY)
    for package_name in OWN_PACKAGES:
        spec = importlib.util.find_spec(package_name)
        if spec is not None and spec.submodule_search_locations:
            names += _walk(package_name, list(spec.submodule_search_locations))
    return names


def _walk(package_name: str, path: list[str]) -> list[str]:
    """The package and its modules, depth first, from the files alone (pkgutil.walk_packages would
    import a skipped package to look inside it)."""
    names = [package_name]
    for info in pkgutil.iter_modules(path, prefix=f"{package_name}."):
        if info.name.startswith(SKIPPED):
            continue
        if info.ispkg:
            names += _walk(info.name, [os.path.join(p, info.name.rsplit(".", 1)[1]) for p in path])
        else:
            names.append(info.name)
    return names


def warm() -> dict[str, str]:
    """Import every task module once (later calls do nothing); what failed, by module."""
    if _state["warmed"]:
        return {}
    _state["warmed"] = True
    started, failed = time.monotonic(), {}
    for name in task_modules():
        try:
            importlib.import_module(name)
        except Exception as error:  # never break the scheduler for a warm-up
            failed[name] = f"{type(error).__name__}: {error}"
    log.info(
        "switchyard: task modules imported before forking tasks in %.2fs%s",
        time.monotonic() - started,
        f" ({len(failed)} skipped: {', '.join(failed)})" if failed else "",
    )
    return failed
