"""Engine benchmark: prints figures, never asserts. Run with `make bench`.

Figures, each next to the issue's target and the reference engine's (Go) figure:
- simulate of the five seed scenarios in-process (model + scenarios loaded each round) and via the CLI;
- enumeration of acme-shop: time, chain count, table size on disk;
- probes used by diagnose per seed scenario, probes answered from the scenario's injected facts;
- multi-root reasoning (rule S11): the roots named for the scenarios with several entries or failures;
- the live-path gate of acme-shop against the local environment, run as a gate task runs it (a
  process of its own, Airflow loaded): wall and CPU time and API requests of the first gate of a
  process (clients built) and of the next ones; BENCH_BEFORE_PLUGINS=<a plugins/ tree> adds the same
  figures for another version of the code (before/after);
- hostile inputs (issue 14): exit code, wall time and peak memory of the CLI per case, run under the
  same limits as tests/engine/test_hostile_input.py (target: exit 2, one line, < 2 s, < 200 MB);
- parse time of dags/release.py (issue 12) for 1 and 50 models, in a process set up as the
  dag-processor's parsing process is (Airflow imported, its objects frozen out of the garbage
  collector's way, modules' bytecode compiled once), both as the bare file and through ``DagBag``;
  and what a fresh process pays for importing Airflow first.
  ``python benchmarks/engine_bench.py dag-parse`` prints only this part.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

from switchyard.engine.catalog import load_catalog  # noqa: E402
from switchyard.engine.chains import enumerate_chains, write_table  # noqa: E402
from switchyard.engine.diagnose import ScenarioProbe, diagnose  # noqa: E402
from switchyard.engine.model import load_model  # noqa: E402
from switchyard.engine.reasoning import conclude  # noqa: E402
from switchyard.engine.scenarios import load_scenario  # noqa: E402
from switchyard.engine.simulate import run_scenario  # noqa: E402
from tests.engine.hostile import CASES, CPU_SECONDS, MEMORY_LIMIT, run_limited  # noqa: E402

MODEL = ROOT / "include/models/acme-shop.model.yaml"
SCENARIO_DIR = ROOT / "include/scenarios/acme-shop"
SEEDS = sorted(SCENARIO_DIR.glob("0[1-5]-*.yaml"))
SUSPECTS = {  # what an alert would point at, as the seed's transcript does
    "02": ["acme-shop-nginx-blue"],
    "03": ["acme-shop-php-fpm-blue"],
    "04": ["acme-shop-php-fpm-blue"],
    "05": ["acme-shop-php-fpm-blue"],
}


def timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.2f} ms   min {min(values) * 1000:7.2f} ms"


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    catalog = load_catalog(use_env=False)

    def simulate_five_cold() -> None:
        model = load_model(MODEL, catalog)
        for path in SEEDS:
            assert run_scenario(model, load_scenario(path, model)).passed

    model = load_model(MODEL, catalog)
    scenarios = [load_scenario(p, model) for p in SEEDS]

    def simulate_five_warm() -> None:
        for scenario in scenarios:
            run_scenario(model, scenario)

    simulate_five_cold()  # warm imports
    cold = timed(simulate_five_cold, 50)
    warm = timed(simulate_five_warm, 200)
    print("\n== simulate, five seed scenarios (target ≤ 15 ms; reference 15 ms incl. process start)")
    print(
        f"  in-process, load model + scenarios each round : {ms(cold)}   ratio to target {statistics.median(cold) / 0.015:.2f}"
    )
    print(f"  in-process, model already loaded             : {ms(warm)}")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    cmd = [sys.executable, "-m", "switchyard", "simulate", "--model", str(MODEL), "--all", str(SCENARIO_DIR)]
    cli = timed(lambda: subprocess.run(cmd, env=env, capture_output=True, check=False), 5)
    print(
        f"  CLI process, all {len(list(SCENARIO_DIR.glob('*.yaml')))} scenarios in the directory : {ms(cli)}"
    )

    print("\n== enumeration of acme-shop (target ≤ 1.5 s and ≤ 4 MB; reference 3.1 s, 8.6 MB, 12,755 chains)")
    durations = timed(lambda: enumerate_chains(model), 5)
    tracemalloc.start()
    chains = enumerate_chains(model)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "acme-shop.chains.yaml"
        write_start = time.perf_counter()
        write_table(model, table, chains)
        write_time = time.perf_counter() - write_start
        size = table.stat().st_size
    lengths = {}
    for chain in chains:
        lengths[len(chain)] = lengths.get(len(chain), 0) + 1
    print(f"  enumerate: {ms(durations)}   ratio to reference {statistics.median(durations) / 3.1:.3f}")
    print(
        f"  write table: {write_time * 1000:.1f} ms; size {size / 1e6:.2f} MB (ratio to reference {size / 8.6e6:.2f})"
    )
    print(f"  chains: {len(chains)} distinct (reference 12,755 of which 3,399 duplicates → 9,356 distinct)")
    print(
        f"  by length: {dict(sorted(lengths.items()))}; peak Python memory while enumerating {peak / 1e6:.1f} MB"
    )

    print(
        "\n== diagnose, probes until a decision (target: external-secrets case ≤ 6 probes; the seed shows 9)"
    )
    print(f"  {'scenario':<42} {'suspect':<24} {'probes':>6} {'strict':>6}  result")
    for path in SEEDS:
        scenario = load_scenario(path, model)
        for suspects in ([], SUSPECTS.get(path.name[:2], [])):
            described = diagnose(model, ScenarioProbe(scenario), suspects=suspects, max_probes=60)
            strict = diagnose(
                model, ScenarioProbe(scenario, describe_only=False), suspects=suspects, max_probes=60
            )
            right = "✓" if described.verdict.root_cause == scenario.expect.root_cause else "✗"
            print(
                f"  {scenario.name:<42} {(suspects or ['-'])[0]:<24} {described.probes_run:>6} {strict.probes_run:>6}"
                f"  {right} {described.verdict.outcome} {described.verdict.root_cause}"
            )
            if path.name[:2] not in SUSPECTS:
                break
    print("  probes: components the scenario does not describe cannot be observed;")
    print("  strict: every fact the scenario lacks is probed and answers 'missing' (a fully blind system).")

    print("\n== multi-root reasoning (rule S11): every entry point, every independent failing chain")
    every = sorted(SCENARIO_DIR.glob("*.yaml"))
    stores = [load_scenario(p, model).fact_store() for p in every]
    durations = timed(lambda: [conclude(model, store) for store in stores], 50)
    print(
        f"  conclude() over all {len(every)} scenarios: {ms(durations)}  (entries: {', '.join(model.entries)})"
    )
    for path, store in zip(every, stores, strict=True):
        roots = conclude(model, store).roots
        if len(roots) > 1 or (roots and roots[0].path[0] != model.entry):
            named = "; ".join(f"{r.text()} via {r.path[0]}" for r in roots)
            print(f"  {path.stem:<42} {named}")

    live_gate_figures()
    dag_parse_figures()

    print(
        f"\n== hostile inputs (target: exit 2, one line, < 2 s, < 200 MB; run under RLIMIT_CPU {CPU_SECONDS} s, "
        f"RLIMIT_AS {MEMORY_LIMIT >> 20} MB)"
    )
    print(f"  {'case':<32} {'exit':>4} {'wall':>8} {'peak RSS':>9}  first line")
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in sorted(CASES.items()):
            directory = Path(tmp) / name
            directory.mkdir()
            outcome = run_limited(build(directory), directory)
            first = (outcome.stderr.splitlines() or [""])[0]
            print(
                f"  {name:<32} {outcome.returncode:>4} {outcome.seconds * 1000:>6.0f} ms {outcome.max_rss_kb / 1024:>6.1f} MB"
                f"  {first[:70]}"
            )


# The gate as an Airflow task runs it, in a process of its own (the servers of the local
# environment stay in the benchmark's process, as the API server and AWS are elsewhere for a task):
# Airflow and the providers are imported before the clock starts (a task process has them), then
# the live-path gate runs through the gate operator's diagnose_scope — first with nothing built
# yet (the AWS session and clients, the Kubernetes client), then again in the same process.
GATE_CHILD = """
import json, logging, sys, time
logging.disable(logging.INFO)
import airflow.sdk  # noqa: F401  (a task process has Airflow loaded)
import airflow.providers.amazon.aws.hooks.base_aws  # noqa: F401
import airflow.providers.cncf.kubernetes.hooks.kubernetes  # noqa: F401
from switchyard.airflow.operators.gate import diagnose_scope
from switchyard.engine.model import load_model
from switchyard.release.spec import release_spec

model = load_model(sys.argv[1])
spec = release_spec(model)
for run in range(int(sys.argv[2])):
    trail = []
    cpu, start = time.process_time(), time.perf_counter()
    _, result = diagnose_scope(model, spec, "live", "blue", "live_path_gate", lambda f, *a: trail.append(f % a))
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"wall": took, "cpu": cpu, "probes": result.probes_run, "requests": result.requests,
                      "outcome": result.verdict.outcome, "last": trail[-1]}), flush=True)
"""


# Runs in a fresh interpreter per round, set up as the dag-processor's parsing process is: Airflow
# imported first (loaded before a file is parsed) and its objects frozen (the processor calls
# gc.freeze() before it forks a parse, DagFileProcessorManager.before_run), so the collector does not
# walk Airflow's import graph during the parse; then the DAG file parsed and timed, bare or through
# DagBag. Bytecode is written to a cache of the benchmark's own and a first round is not counted: a
# deployed processor does not compile the plugins' sources at every parse (a PYTHONDONTWRITEBYTECODE
# environment would make every round do so).
_PARSE_ROUND = """
import gc, sys, time
start = time.perf_counter()
import airflow.sdk, airflow.providers.standard.operators.empty
from airflow.dag_processing.dagbag import DagBag
airflow_seconds = time.perf_counter() - start
gc.freeze()
start, cpu = time.perf_counter(), time.process_time()
if sys.argv[1] == "dagbag":
    bag = DagBag(dag_folder=sys.argv[2], collect_dags=False)
    bag.process_file(sys.argv[2])
    assert not bag.import_errors, bag.import_errors
    dags = len(bag.dags)
else:
    import runpy
    found = runpy.run_path(sys.argv[2]).values()
    dags = len({id(v) for v in found if type(v).__name__ == "DAG"})
print(airflow_seconds, time.perf_counter() - start, time.process_time() - cpu, dags)
"""


def dag_parse_figures(rounds: int = 3) -> None:
    print("\n== dags/release.py parse, Airflow already imported (target ≤ 0.3 s for 1 model, ≤ 1 s for 50)")
    print("  (CPU: the parse's own CPU time, what the wall time is on an idle core)")
    dag_file = ROOT / "dags" / "release.py"
    model = MODEL.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include")]),
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "bytecode"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        airflow_import: list[float] = []
        warm = False
        for count in (1, 50):
            models = Path(tmp) / f"models-{count}"
            models.mkdir()
            for i in range(count):  # copies of acme-shop under other app names: one DAG pair each
                (models / f"acme-shop-{i:02d}.model.yaml").write_text(model)
            for how in ("file", "dagbag"):
                seconds, cpu, dags = [], [], 0
                for _ in range(rounds + (not warm)):
                    out = subprocess.run(
                        [sys.executable, "-c", _PARSE_ROUND, how, str(dag_file)],
                        env={**env, "SWITCHYARD_MODELS_DIR": str(models)},
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    if out.returncode:
                        print(f"  {count} model(s), {how}: failed: {out.stderr.strip().splitlines()[-1:]}")
                        break
                    first, parse, parse_cpu, dags = out.stdout.split()[-4:]
                    if not warm:  # the round that compiled the bytecode
                        warm = True
                        continue
                    airflow_import.append(float(first))
                    seconds.append(float(parse))
                    cpu.append(float(parse_cpu))
                else:
                    target = 0.3 if count == 1 else 1.0
                    label = "bare file (runpy)" if how == "file" else "DagBag.process_file"
                    print(
                        f"  {count:>2} model(s), {dags:>3} DAGs, {label:<20}: wall {ms(seconds)}"
                        f"   CPU median {statistics.median(cpu) * 1000:7.2f} ms"
                        f"   ratio to target {statistics.median(seconds) / target:.2f}"
                    )
        if airflow_import:
            print(f"  importing Airflow first (every fresh process, not counted above): {ms(airflow_import)}")


def live_gate_figures() -> None:
    print("\n== live-path gate of acme-shop (blue) against the local environment (target ≤ 1 s)")
    print("  before batching (one read per object, a boto3 session per client): 26 requests; first gate")
    print("  of a process 2.5-2.8 s wall, 1.5-1.8 s CPU; next ~0.2 s (load 5-7; see BENCH_BEFORE_PLUGINS)")
    try:
        from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment
    except Exception as exc:  # the local environment needs the full dependencies
        print(f"  skipped: {type(exc).__name__}: {exc}")
        return
    import json
    import logging

    trees = {"this tree": ROOT / "plugins"}
    if os.environ.get("BENCH_BEFORE_PLUGINS"):  # another plugins/ tree to compare (e.g. a git archive)
        trees["BENCH_BEFORE_PLUGINS"] = Path(os.environ["BENCH_BEFORE_PLUGINS"])
    logging.disable(logging.INFO)  # the providers log every connection they read
    with tempfile.TemporaryDirectory() as state:
        env = LocalEnvironment(
            DEFAULT_MODEL,
            behaviours=ROOT / "include/behaviours/acme-shop.yaml",
            time_scale=1.0,
            state_dir=Path(state),
            metrics_period=5.0,
        )
        env.start()
        try:
            child_env = {**os.environ, **env.airflow_env()}
            for label, plugins in trees.items():
                for process in range(3):
                    child_env["PYTHONPATH"] = f"{plugins}{os.pathsep}{ROOT / 'include'}"
                    done = subprocess.run(
                        [sys.executable, "-c", GATE_CHILD, str(DEFAULT_MODEL), "3"],
                        env=child_env,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    runs = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
                    if not runs:
                        print(f"  {label}: the gate process failed: {done.stderr.strip()[-300:]}")
                        break
                    for number, run in enumerate(runs):
                        what = "first gate of a process" if number == 0 else "next gate, same process"
                        print(
                            f"  {label:<11} {what:<25} {run['wall'] * 1000:6.0f} ms wall {run['cpu'] * 1000:6.0f} ms CPU"
                            f"   {run['probes']} probes, {run['requests']} API requests   {run['outcome']}"
                        )
                    if process == 0:
                        print(f"  trail's last line: {runs[0]['last']}")
        finally:
            env.stop()
            logging.disable(logging.NOTSET)
    print(f"  (machine load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    if sys.argv[1:] == ["dag-parse"]:
        dag_parse_figures()
    else:
        main()
