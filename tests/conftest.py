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
    its 17 s asleep there. Its own sleeps (only those: the caller's code is ``DAG.test``) become
    0.05 s; every other sleep in the process, the operators' polls included, is left alone."""
    import time

    from airflow.sdk import DAG

    if getattr(time.sleep, "dag_test_polls_quickly", False):
        return
    dag_test_code, sleep = DAG.test.__code__, time.sleep

    def quick_sleep(seconds: float) -> None:
        sleep(min(seconds, 0.05) if sys._getframe(1).f_code is dag_test_code else seconds)

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
    return bag.get_dag("release_acme_shop")


@pytest.fixture(scope="session")
def rollback_dag(release_dag):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag().get_dag("rollback_acme_shop")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups from the items
def pytest_collection_modifyitems(config, items) -> None:
    """How `make test` (xdist, ``--dist loadgroup``) shares the tests among its workers.

    * Each end-to-end file is one group: its tests share one Airflow stack (module fixture) and run
      in order on one worker. They go first: each runs for minutes, so they must start at once on
      their own workers while the short tests fill the rest around them (`make test` passes
      --no-loadscope-reorder, which keeps this order).
    * tests/ui is one group: its tests share one api-server (session fixture).
    * Every other test is handed out on its own, to whichever worker is free: most whole-release
      tests wait on the emulated cluster's clock, and a file's tests then wait side by side instead
      of one after another."""
    for item in items:
        folder = item.path.parent.name
        if folder == "e2e":
            item.add_marker(pytest.mark.xdist_group(f"e2e-{item.path.stem}"))
        elif folder == "ui":
            item.add_marker(pytest.mark.xdist_group("ui"))
    items.sort(key=lambda item: item.path.parent.name != "e2e")
