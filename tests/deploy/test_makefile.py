"""The Makefile's venv rule: which Python it accepts, what it does with a venv a wrong interpreter
made, and the `switchyard` command it installs. Every run points VENV into a temporary folder (the
worktree's .venv is never touched); the interpreters are small scripts that report a version and
record what they were asked to do, except in the console-script test, which uses the real one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUPPORTED = "3.11"  # the lock's header: uv pip compile … --python-version 3.11

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def fake_python(path: Path, version: str, log: Path) -> Path:
    """An interpreter that answers the version question, logs every other call, and on
    ``-m venv DIR`` makes a venv whose python is a fake of the same version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""#!/bin/sh
echo "$0 $*" >> {log}
case "$1" in
  -c) echo {version}; exit 0;;
esac
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
fi
exit 0
"""
    )
    path.chmod(0o755)
    return path


def make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_supported_version_is_the_one_the_lock_is_resolved_for():
    header = (ROOT / "requirements.lock").read_text().splitlines()[1]
    assert f"--python-version {SUPPORTED}" in header
    assert f"SUPPORTED_PYTHONS := {SUPPORTED}" in (ROOT / "Makefile").read_text()
    assert f"python_version < '{SUPPORTED}'" not in (ROOT / "requirements.lock").read_text()


def test_python_3_10_is_refused_before_anything_is_created(tmp_path):
    log = tmp_path / "calls.log"
    python = fake_python(tmp_path / "bin" / "python3", "3.10", log)
    venv = tmp_path / "venv"

    result = make(f"PYTHON={python}", f"VENV={venv}", "demo")

    assert result.returncode != 0
    assert f"{python} is Python 3.10" in result.stderr
    assert f"supports Python {SUPPORTED} only" in result.stderr
    assert f"make PYTHON=python{SUPPORTED} demo" in result.stderr
    assert not venv.exists()
    assert "-m venv" not in log.read_text()  # asked its version, nothing else


def test_a_missing_interpreter_is_named(tmp_path):
    result = make(f"PYTHON={tmp_path}/no-such-python", f"VENV={tmp_path}/venv", "demo")
    assert result.returncode != 0
    assert "is Python (not found)" in result.stderr


def test_a_venv_a_wrong_interpreter_made_is_rebuilt(tmp_path):
    log = tmp_path / "calls.log"
    venv = tmp_path / "venv"
    fake_python(tmp_path / "py310", "3.10", log)
    subprocess.run([tmp_path / "py310", "-m", "venv", venv], check=True)  # the broken venv of the issue
    (venv / ".installed-from-lock").touch()  # even if its stamp is newer than the lock
    good = fake_python(tmp_path / "bin" / "python3.11", SUPPORTED, log)
    log.write_text("")

    result = make(f"PYTHON={good}", f"VENV={venv}", f"{venv}/.installed-from-lock")

    assert result.returncode == 0, result.stderr
    assert f"{venv} was made by Python 3.10, not {SUPPORTED}: rebuilding it" in result.stdout
    calls = log.read_text().splitlines()
    assert f"{good} -m venv {venv}" in calls
    pip_calls = [c for c in calls if c.startswith(f"{venv}/bin/python -m pip install")]
    assert len(pip_calls) == 2
    assert "--no-deps --require-hashes -r requirements.lock" in pip_calls[0]
    assert pip_calls[1].endswith("--no-deps --no-build-isolation --no-index -e .")


def test_a_good_venv_is_reused_whatever_python3_is(tmp_path):
    log = tmp_path / "calls.log"
    venv = tmp_path / "venv"
    fake_python(tmp_path / "py311", SUPPORTED, log)
    subprocess.run([tmp_path / "py311", "-m", "venv", venv], check=True)
    stamp = venv / ".installed-from-lock"
    stamp.touch()
    os.utime(stamp, (4_000_000_000, 4_000_000_000))  # newer than the lock and pyproject.toml
    python310 = fake_python(tmp_path / "bin" / "python3", "3.10", log)

    result = make(f"PYTHON={python310}", f"VENV={venv}", "--question", str(stamp))

    assert result.returncode == 0, result.stdout + result.stderr  # up to date: nothing to do


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="needs the supported interpreter")
def test_the_venv_gets_a_switchyard_command_that_needs_no_pythonpath(tmp_path):
    """The real rule against a throwaway venv that sees the shared venv's packages (so the lock is
    already satisfied and nothing is downloaded): it installs the console script, which then
    validates the example model from another folder with no PYTHONPATH."""
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", venv], check=True)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    shared = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "pip").is_dir())
    (site / "shared-venv.pth").write_text(shared + "\n")

    result = make(f"PYTHON={sys._base_executable}", f"VENV={venv}", f"{venv}/.installed-from-lock")
    assert result.returncode == 0, result.stdout + result.stderr

    command = venv / "bin" / "switchyard"
    assert command.exists()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    model = ROOT / "include" / "models" / "acme-shop.model.yaml"
    run = subprocess.run(
        [command, "model", "validate", "--model", str(model)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "20 components · 0 errors" in run.stdout
