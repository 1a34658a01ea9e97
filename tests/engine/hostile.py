"""Hostile inputs for the CLI (issue 14), shared by tests/engine/test_hostile_input.py and the
engine benchmark, and a runner that executes the CLI in a child process under resource limits.

Each case builds its files in a directory and returns the CLI arguments. The runner caps the child's
address space (RLIMIT_AS) and CPU time (RLIMIT_CPU): a case that needs more is killed by the kernel
(MemoryError or SIGXCPU), so a test asserting exit 2 proves the bound without timing anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "include" / "models" / "acme-shop.model.yaml"
HEALTHY = ROOT / "include" / "scenarios" / "acme-shop" / "01-all-healthy.yaml"
MEMORY_LIMIT = 200 * 1024 * 1024  # bytes of address space for the whole child process
CPU_SECONDS = 2


def _model(rule: str = "ready_replicas >= 1", name: str = "web") -> str:
    return (
        "meta:\n  name: hostile\n  version: '1'\n  providers: [mgt-tool/kubernetes@^3.0.0]\n"
        f'components:\n  {name}:\n    type: deployment\n    healthy:\n      - "{rule}"\n'
    )


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _simulate(model: Path | str, scenario: Path | str = HEALTHY) -> list[str]:
    return ["simulate", "--model", str(model), "--scenario", str(scenario)]


def alias_bomb_model(d: Path) -> list[str]:
    return _simulate(_write(d, "bomb.yaml", _alias_bomb()))


def alias_bomb_scenario(d: Path) -> list[str]:
    return _simulate(ACME, _write(d, "bomb.yaml", _alias_bomb()))


def alias_bomb_type_file(d: Path) -> list[str]:
    provider = d / "types" / "evil"
    (provider / "types").mkdir(parents=True)
    _write(provider, "manifest.yaml", "meta:\n  name: evil\n  version: 1.0.0\n")
    _write(provider / "types", "thing.yaml", _alias_bomb())
    return ["model", "validate", "--model", str(ACME), "--types", str(d / "types")]


def recursive_alias(d: Path) -> list[str]:
    return _simulate(_write(d, "loop.yaml", "meta: &m {name: x, self: *m}\n"))


def nested_flow_brackets(d: Path) -> list[str]:
    return _simulate(_write(d, "nest.yaml", "[" * 30_000 + "\n"))


def nested_block_sequences(d: Path) -> list[str]:
    return _simulate(_write(d, "nest.yaml", "- " * 30_000 + "x\n"))


def nested_parentheses_rule(d: Path) -> list[str]:
    return _simulate(_write(d, "m.yaml", _model("(" * 400 + "ready_replicas >= 1" + ")" * 400)))


def thousand_nots_rule(d: Path) -> list[str]:
    return _simulate(_write(d, "m.yaml", _model("not " * 1000 + "ready_replicas >= 1")))


def long_and_chain_rule(d: Path) -> list[str]:
    return _simulate(_write(d, "m.yaml", _model(" and ".join(["ready_replicas >= 1"] * 1000))))


def many_unknown_facts(d: Path) -> list[str]:
    rule = " or ".join(f"nope{i % 7} > 1" for i in range(4000))
    return _simulate(_write(d, "m.yaml", _model(rule)))


def hundred_comparisons_rule(d: Path) -> list[str]:
    return _simulate(_write(d, "m.yaml", _model(" and ".join(["a>1"] * 100))))  # short: under the length cap


def fifty_megabyte_model(d: Path) -> list[str]:
    path = d / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: costs no disk, stat says 50 MB
    return _simulate(path)


def symlink_loop_model(d: Path) -> list[str]:
    (d / "a.yaml").symlink_to(d / "b.yaml")
    (d / "b.yaml").symlink_to(d / "a.yaml")
    return ["model", "validate", "--model", str(d / "a.yaml")]


def dev_zero_model(d: Path) -> list[str]:
    return _simulate("/dev/zero")


def dev_zero_scenario(d: Path) -> list[str]:
    return _simulate(ACME, "/dev/zero")


def scenarios_write_to_a_directory(d: Path) -> list[str]:
    (d / "out").mkdir()
    return ["scenarios", "write", "--model", str(ACME), "--out", str(d / "out")]


def negative_max_probes(d: Path) -> list[str]:
    return ["diagnose", "--model", str(ACME), "--facts", str(HEALTHY), "--max-probes", "-5"]


def name_with_newline(d: Path) -> list[str]:
    return _simulate(_write(d, "m.yaml", _model(name='"web\\nERROR: forged"')))


def name_with_terminal_escape(d: Path) -> list[str]:
    return _simulate(_write(d, "m.yaml", _model(name='"web\\e[2J"')))


def name_with_html(d: Path) -> list[str]:
    return _simulate(_write(d, "m.yaml", _model(name='"<script>alert(1)</script>"')))


def empty_name(d: Path) -> list[str]:
    return _simulate(_write(d, "m.yaml", _model(name='""')))


CASES: dict[str, Callable[[Path], list[str]]] = {
    f.__name__: f
    for f in (
        alias_bomb_model,
        alias_bomb_scenario,
        alias_bomb_type_file,
        recursive_alias,
        nested_flow_brackets,
        nested_block_sequences,
        nested_parentheses_rule,
        thousand_nots_rule,
        long_and_chain_rule,
        hundred_comparisons_rule,
        many_unknown_facts,
        fifty_megabyte_model,
        symlink_loop_model,
        dev_zero_model,
        dev_zero_scenario,
        scenarios_write_to_a_directory,
        negative_max_probes,
        name_with_newline,
        name_with_terminal_escape,
        name_with_html,
        empty_name,
    )
}


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # wall time, for the benchmark's figures only
    max_rss_kb: int  # the child's peak resident memory (VmHWM), kB


# The limits are set by the child itself, first thing, and it reports its own peak resident memory
# (VmHWM, which starts afresh at exec: the rusage of a child counts the parent it was forked from).
_WRAPPER = (
    "import os, resource, runpy, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
    f"resource.setrlimit(resource.RLIMIT_CPU, ({CPU_SECONDS}, {CPU_SECONDS}))\n"
    "sys.argv = ['switchyard', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('switchyard', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "    open(os.environ['HOSTILE_PEAK_FILE'], 'w').write(peak[0].split()[1] if peak else '0')\n"
)


def run_limited(argv: list[str], cwd: Path) -> Outcome:
    """Run ``python -m switchyard ARGV`` under the memory and CPU limits."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT / 'include'}",
        "LANG": "C.UTF-8",
    }
    start = time.perf_counter()
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        peak_file = Path(tmp) / "peak"
        env["HOSTILE_PEAK_FILE"] = str(peak_file)
        proc = subprocess.run(
            [sys.executable, "-c", _WRAPPER, *argv], cwd=cwd, env=env, stdout=out, stderr=err, timeout=60
        )
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        peak = peak_file.read_text() if peak_file.exists() else "0"
        return Outcome(
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            seconds,
            int(peak or 0),
        )
