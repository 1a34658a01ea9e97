"""Test setup shared by every test package.

Airflow is configured before anything imports it (a throwaway AIRFLOW_HOME with SQLite, no example
DAGs, the project's dags/ and plugins/), and plugins/ and include/ are importable. Nothing here
imports Airflow: tests that need its database ask for the ``airflow_db`` fixture, so engine tests
stay fast.

Local environment fixtures (see ``switchyard.localenv``):

* ``local_env`` (session): a ``LocalEnvironment`` seeded from the acme-shop model with the demo
  behaviours, on free ports; ``.kubeconfig_path``, ``.connections_file``, ``.kube_url``,
  ``.prometheus_url``, ``.aws_endpoint``, ``.airflow_env()``.
* ``emulator``: its ``EmulatorClient``; behaviours and faults set by a test are undone after it.
* ``airflow_connections``: the environment's ``AIRFLOW_CONN_*`` variables set for one test
  (``aws_default``, ``kubernetes_default``, ``prometheus_default``).
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="switchyard-airflow-home-")
os.environ.update(
    {
        "AIRFLOW_HOME": _AIRFLOW_HOME,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
    }
)
for _path in (ROOT / "plugins", ROOT / "include"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

DEMO_BEHAVIOURS = ROOT / "include" / "behaviours" / "acme-shop.yaml"


@pytest.fixture(scope="session")
def airflow_db():
    """A fresh Airflow metadata database (about 2 s on SQLite), for tests that run DAGs."""
    from airflow.utils import db

    db.resetdb()
    _dag_test_polls_quickly()


def _dag_test_polls_quickly() -> None:
    """``dag.test()`` sleeps 1 s whenever a pass of its loop finds nothing to run, and a failure
    marks the tasks below it upstream_failed one level per pass: a release stopped early spent 13 of
    its 17 s asleep there. Its own sleeps (only those: the caller's code is ``DAG.test``) start at
    0.05 s and double while passes keep finding nothing (back to 1 s): a pass is a few database
    queries, and at 0.05 s a 30 s wait (a retry delay, an approval) kept a core busy. Every other
    sleep in the process, the operators' polls included, is left alone."""
    import time

    from airflow.sdk import DAG

    if getattr(time.sleep, "dag_test_polls_quickly", False):
        return
    dag_test_code, sleep = DAG.test.__code__, time.sleep
    idle = {"passes": 0, "woke": 0.0}

    def quick_sleep(seconds: float) -> None:
        if sys._getframe(1).f_code is not dag_test_code:
            return sleep(seconds)
        # a pass that ran a task took longer than its queries: start short again
        idle["passes"] = idle["passes"] + 1 if time.monotonic() - idle["woke"] < 0.2 else 0
        sleep(min(seconds, 0.05 * 2 ** idle["passes"]))
        idle["woke"] = time.monotonic()

    quick_sleep.dag_test_polls_quickly = True
    time.sleep = quick_sleep


@pytest.fixture(scope="session")
def local_env(tmp_path_factory):
    from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment

    env = LocalEnvironment(
        DEFAULT_MODEL,
        behaviours=DEMO_BEHAVIOURS,
        time_scale=1.0,
        state_dir=tmp_path_factory.mktemp("localenv"),
        metrics_period=5.0,
    )
    env.start()
    yield env
    env.stop()


@pytest.fixture
def emulator(local_env):
    client = local_env.emulator
    behaviours = client.behaviours()
    yield client
    client.clear_faults()
    client.replace_behaviours(behaviours)


@pytest.fixture
def airflow_connections(local_env, monkeypatch):
    for name, value in local_env.airflow_env().items():
        monkeypatch.setenv(name, value)
    return local_env.connections()


@pytest.fixture(scope="session")
def release_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    assert bag.import_errors == {}, bag.import_errors
    from release_helpers import retry_quickly

    return retry_quickly(bag.get_dag("release_acme_shop"))


@pytest.fixture(scope="session")
def rollback_dag(release_dag):
    from airflow.dag_processing.dagbag import DagBag
    from release_helpers import retry_quickly

    return retry_quickly(DagBag().get_dag("rollback_acme_shop"))


_yielding_cpu = False


def pytest_runtest_setup(item) -> None:
    """Under xdist, a worker gives way (nice 10) from its first test outside tests/e2e on: the
    end-to-end files are the longest path of `make test`, and their stacks (started by workers that
    have not given way) then get the CPU first while the other tests fill what is left."""
    global _yielding_cpu
    if not _yielding_cpu and os.environ.get("PYTEST_XDIST_WORKER") and item.path.parent.name != "e2e":
        os.nice(10)
        _yielding_cpu = True


# Longest first, so that no long unit starts last and the short tests fill in around the long ones:
# the end-to-end files (minutes each, one worker apiece), tests/ui (one unit: its tests share one
# api-server), the whole-release tests (tens of seconds each), then the rest.
LONGEST_FIRST = (
    lambda path: path.startswith("tests/e2e/"),
    lambda path: path.startswith("tests/ui/"),
    lambda path: path.startswith(("tests/dags/", "tests/release/", "tests/deploy/test_rbac.py")),
)


def pytest_collection_modifyitems(config, items) -> None:
    """Run order, longest first (LONGEST_FIRST; `make test` passes --no-loadscope-reorder, which
    keeps it): the end-to-end files start at once on their own workers."""

    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next((n for n, matches in enumerate(LONGEST_FIRST) if matches(path)), len(LONGEST_FIRST))

    items.sort(key=rank)


def pytest_xdist_make_scheduler(config, log):
    """How `make test` (xdist) shares the tests among its workers: each end-to-end file is one unit
    (its tests share one Airflow stack, a module fixture, and run in order on one worker), tests/ui
    is one (its tests share one api-server), and every other test is handed out on its own to
    whichever worker is free: most whole-release tests wait on the emulated cluster's clock, and a
    file's tests then wait side by side instead of one after another. (xdist's own ``loadgroup``
    marks do not group under pytest 9: the node ids it rewrites are not read back.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByStackScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.startswith("tests/e2e/"):
                return path
            if path.startswith("tests/ui/"):
                return "tests/ui"
            return nodeid

    return ByStackScheduling(config, log)
