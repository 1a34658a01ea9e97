"""The task-import preload (switchyard.airflow.preload through deploy/config/airflow_local_settings):
a process that forks tasks imports what they need once, before its first fork, and only when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from switchyard.localenv.environment import ROOT

# A process set up as the stack's scheduler: Airflow initialised (which imports the local settings),
# then a fork, as the LocalExecutor forks its workers; the child reports what it found imported.
FORKING_PROCESS = textwrap.dedent("""\
    import json, os, sys
    import airflow.settings
    imported_before = "kubernetes.client" in sys.modules
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        found = [m for m in ("kubernetes.client", "airflow.providers.cncf.kubernetes.hooks.kubernetes",
                             "switchyard.release.workloads", "switchyard.airflow.operators.watch")
                 if m in sys.modules]
        os.write(write, json.dumps(found).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    print(json.dumps({"before_fork": imported_before, "in_child": json.loads(os.read(read, 4096)),
                      "ui": "fastapi" in sys.modules}))
""")


def _forking_process(preload: str | None) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SWITCHYARD_PRELOAD"))},
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("plugins", "include", "deploy/config")),
        "AIRFLOW_HOME": "/nonexistent-switchyard-test-home",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    if preload is not None:
        env["SWITCHYARD_PRELOAD_TASK_IMPORTS"] = preload
    done = subprocess.run(
        [sys.executable, "-c", FORKING_PROCESS], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_forked_task_starts_with_the_task_modules_imported():
    seen = _forking_process("1")
    assert seen["before_fork"] is False  # not while Airflow's settings initialise: just before the fork
    assert seen["in_child"] == [
        "kubernetes.client",
        "airflow.providers.cncf.kubernetes.hooks.kubernetes",
        "switchyard.release.workloads",
        "switchyard.airflow.operators.watch",
    ]
    assert seen["ui"] is False  # the Releases view is the api-server's, never preloaded


def test_no_preload_unless_the_process_is_set_to():
    assert _forking_process(None)["in_child"] == []
    assert _forking_process("0")["in_child"] == []
