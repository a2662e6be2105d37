"""The real worker as a child process, and bounded waiting for what it does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """`flask --app engage.wsgi engage worker` as a child process; its log goes to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "engage.wsgi", "engage", "worker"],
            cwd=REPO_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def is_running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash or a lost machine."""
        if self.is_running():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 10) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.is_running():
            self.kill()
        self._log.close()


def wait_until(condition: Callable[[], object], timeout: float, what: str,
               workers: Iterable[WorkerProcess] = ()) -> None:
    """Poll `condition` until it is true; on timeout fail with the workers' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    logs = "\n".join(f"--- worker pid {w.pid} (running: {w.is_running()}) ---\n{w.output()}"
                     for w in workers)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs}")
