"""Parsing a DAG file (the release DAGs, the drift check) imports only what building the DAGs needs: the dag-processor parses
it every 30 s, so the Kubernetes clients, the provider hooks, boto3 and the engine's diagnosis wait
for ``execute``. (The parse time itself is a benchmark: ``benchmarks/engine_bench.py dag-parse``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Imported by Airflow itself before a DAG file is parsed, or by nothing at parse time.
EXECUTE_ONLY = (
    "kubernetes",
    "kubernetes_asyncio",
    "boto3",
    "botocore",
    "airflow.providers.cncf.kubernetes.hooks.kubernetes",
    "switchyard.release.switch",
    "switchyard.release.workloads",
    "switchyard.release.records",
    "switchyard.release.lock",
    "switchyard.release.drift",
    "switchyard.engine.simulate",
    "switchyard.engine.diagnose",
    "switchyard.probes",
)
PARSE = """
import json, runpy, sys
import airflow.sdk, airflow.providers.standard.operators.empty
before = set(sys.modules)
dags = [v for v in runpy.run_path(sys.argv[1]).values() if type(v).__name__ == "DAG"]
print(json.dumps({"new": sorted(set(sys.modules) - before), "dags": len({id(d) for d in dags})}))
"""


@pytest.mark.parametrize("dag_file,at_least", [("release.py", 2), ("drift_check.py", 1)])
def test_parsing_a_dag_file_imports_nothing_only_execute_needs(tmp_path, dag_file, at_least):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include"), str(ROOT)]),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(ROOT / "dags" / dag_file)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    parsed = json.loads(out.stdout.strip().splitlines()[-1])
    assert parsed["dags"] >= at_least  # release_acme_shop and rollback_acme_shop; drift_check
    loaded = [m for m in parsed["new"] if any(m == n or m.startswith(f"{n}.") for n in EXECUTE_ONLY)]
    assert loaded == []
