"""A real served instance for tests and benchmarks: `reportbot serve` under gunicorn.

`serve()` starts a server process on a free loopback port and waits until it answers, so
tests of several workers, faults and the CLI (and bench/) share one way of doing it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REPORTBOT = str(BIN / "reportbot")


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    """A server process tree answering on a loopback port."""

    proc: subprocess.Popen
    url: str
    started_in: float

    def worker_pids(self) -> list[int]:
        """Return the pids of the gunicorn workers (children of the master)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True, check=False).stdout
        return [int(p) for p in out.split()]

    def peak_worker_memory_mb(self) -> float:
        """Return the largest peak resident memory (VmHWM) among the workers, in MB."""
        peaks = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return max(peaks, default=0.0)

    def stop(self) -> str:
        """Stop the server, wait for it, and return what it printed (if captured)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _err = self.proc.communicate()
        return out.decode() if isinstance(out, bytes) else (out or "")


def start(argv: list[str], env: dict[str, str], port: int, ready_path: str = "/healthz",
          ready_method: str = "GET", capture: bool = False, timeout: float = 60) -> Served:
    """Start a server process and wait until it answers below 500; time the start-up."""
    started = time.monotonic()
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT, stdout=output,
                            stderr=subprocess.STDOUT if capture else subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = started + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            response = httpx.request(ready_method, url + ready_path, json={}, timeout=1)
            if response.status_code < 500:
                return Served(proc, url, time.monotonic() - started)
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server {argv} did not start")


@contextmanager
def serve(env: dict[str, str], workers: int = 2, capture: bool = False) -> Iterator[Served]:
    """Run `reportbot serve` with `env` on a free port for the length of the block."""
    port = free_port()
    served = start([REPORTBOT, "serve", "--port", str(port), "--workers", str(workers)],
                   env, port, capture=capture)
    try:
        yield served
    finally:
        served.stop()
