"""One supervised process of the topology: started, killed (-9), paused and restarted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def wait_port(port: int, timeout: float = 60.0, alive: Callable[[], bool] = lambda: True) -> bool:
    """True once something accepts TCP connections on loopback ``port`` (bounded wait,
    cut short when ``alive`` says the process that should listen is gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


@dataclass
class Service:
    """A named process: ``argv`` run with ``env`` (as ``user``), listening on ``port``,
    logging to ``log``. ``leader_only``: a kill hits the process, not its group (PostgreSQL's
    postmaster, whose backends notice its death and exit on their own); ``start_timeout``:
    how long it may take to listen (the S3 stand-in replays its journal first)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log: Path
    user: str | None = None
    leader_only: bool = False
    start_timeout: float = 60.0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, attempts: int = 10) -> None:
        """Start the process and wait (bounded) until its port answers; a process that
        exits before (a dependency still down, a dead predecessor's leftovers) is started
        again, ``attempts`` times at most."""
        for _ in range(attempts):
            with self.log.open("ab") as out:
                self.proc = subprocess.Popen(
                    self.argv,
                    env=self.env,
                    user=self.user,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group: killing it kills its workers too
                )
            if wait_port(self.port, self.start_timeout, alive=self.running):
                return
            if self.running():
                break
            time.sleep(1)
        raise RuntimeError(f"{self.name} did not start")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group (nginx's workers outlive their master), or to
        the leader alone (``leader_only``), then reap."""
        if self.proc is not None and self.proc.poll() is None:
            if self.leader_only:
                self.proc.kill()
            else:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def pause(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 20 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.resume()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
