"""Starts a real pretextd (node --import tsx server/daemon/main.ts) on port 0 for the tests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from typing import List, Optional

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MAIN = os.path.join(REPO_ROOT, "server", "daemon", "main.ts")
DATA_DIR = os.environ.get(
    "PRETEXT_TEST_DATA_DIR", os.path.abspath(os.path.join(REPO_ROOT, "..", "shared", "datasets"))
)
LISTENING = re.compile(r"^pretextd listening on (\S+):(\d+)\s*$")


class DaemonError(RuntimeError):
    pass


class Daemon:
    """One pretextd process with its own state dir. ``address`` is set once it listens."""

    def __init__(
        self,
        token: Optional[str] = None,
        state_dir: Optional[str] = None,
        extra_args: Optional[List[str]] = None,
    ) -> None:
        self.tmp = tempfile.mkdtemp(prefix="pretext-pytest-")
        self.state_dir = state_dir or os.path.join(self.tmp, "state")
        self.token = token
        self.extra_args = list(extra_args or [])
        self.proc: Optional[subprocess.Popen] = None
        self.address = ""
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self._stdout_lines: List[str] = []

    def start(self, timeout: float = 90.0) -> "Daemon":
        args = [
            "node", "--import", "tsx", MAIN,
            "--listen", "127.0.0.1:0",
            "--state-dir", self.state_dir,
            "--data-dir", DATA_DIR,
            "--no-download",  # tests never touch the network
        ]
        if self.token is not None:
            token_file = os.path.join(self.tmp, "token")
            with open(token_file, "w", encoding="utf-8") as f:
                f.write(self.token + "\n")
            os.chmod(token_file, 0o600)
            args += ["--token-file", token_file]
        args += self.extra_args
        stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            args, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=stderr, text=True,
        )
        stderr.close()
        found = threading.Event()

        def read_stdout() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:  # keep draining so the daemon never blocks
                self._stdout_lines.append(line)
                m = LISTENING.match(line)
                if m and not found.is_set():
                    self.address = f"{m.group(1)}:{m.group(2)}"
                    found.set()
            found.set()  # EOF: the process ended

        threading.Thread(target=read_stdout, daemon=True).start()
        found.wait(timeout)
        if not self.address:
            code = self.proc.poll()
            self.kill()
            raise DaemonError(
                f"pretextd did not print its listening line within {timeout}s "
                f"(exit code {code}); stdout: {''.join(self._stdout_lines)[-2000:]!r}; "
                f"stderr tail: {self.stderr_tail()}"
            )
        return self

    def stderr_tail(self, n: int = 4000) -> str:
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> Optional[int]:
        """SIGTERM, then wait; SIGKILL after ``timeout``. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipes()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self.proc is not None and self.proc.stdout is not None and self.proc.poll() is not None:
            try:
                self.proc.stdout.close()
            except (OSError, ValueError):
                pass

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)
