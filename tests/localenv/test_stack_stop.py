"""Stopping the stack: Ctrl-C pressed again while it stops must not leave components running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A component that takes 2 s to shut down after SIGTERM, as the scheduler does with tasks running.
SLOW_TO_STOP = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(2), sys.exit(0)))\n"
    "time.sleep(600)\n"
)

DRIVER = """
import sys, time
from pathlib import Path
from switchyard.localenv.stack import Process, Stack

state = Path(sys.argv[1])
stack = Stack(state_dir=state)
for name in ("postgres", "localenv", "api-server", "scheduler", "triggerer", "dag-processor"):
    process = Process(name, [sys.executable, "-c", sys.argv[2]], {}, state / f"{name}.log")
    process.start()
    stack.processes.append(process)
(state / "pids").write_text(" ".join(str(p.popen.pid) for p in stack.processes))
print("stopping", flush=True)
stack.stop()
print("stopped", flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for good (its parent, the driver, may not have reaped it yet)
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split(") ", 1)[1][0] != "Z"


def test_ctrl_c_twice_while_stopping_still_stops_every_component(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT / 'include'}"}
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path), SLOW_TO_STOP],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert driver.stdout.readline().strip() == "stopping"
        pids = [int(pid) for pid in (tmp_path / "pids").read_text().split()]
        time.sleep(0.5)
        for _ in range(2):  # an impatient person at 3am
            driver.send_signal(signal.SIGINT)
            time.sleep(0.3)
        output = driver.communicate(timeout=60)[0]
    finally:
        driver.kill()
    assert "stopped" in output, output
    assert driver.returncode == 0, output
    assert [pid for pid in pids if _alive(pid)] == []
