"""Start servers under gunicorn, drive them with concurrent clients, and print figures."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn process tree serving on a loopback port."""

    proc: subprocess.Popen
    url: str
    started_in: float

    def worker_pids(self) -> list[int]:
        """Return the pids of the gunicorn workers (children of the master)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],  # noqa: S603,S607 - ps from PATH, fixed arguments
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

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start(argv: list[str], env: dict[str, str], port: int, ready_path: str = "/healthz",
          ready_method: str = "GET") -> Server:
    """Start a server process and wait until it answers; time the start-up."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT,  # noqa: S603 - our own server, fixed arguments
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = started + 60
    while time.monotonic() < deadline:
        try:
            response = httpx.request(ready_method, url + ready_path, json={}, timeout=1)
            if response.status_code < 500:
                return Server(proc, url, time.monotonic() - started)
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server {argv} did not start")


@dataclass
class Figures:
    """Latencies of one run, in seconds, and its wall time."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self, label: str) -> str:
        return (f"{label:<34} {len(self.latencies):>7} req {self.rate:>9.1f}/s "
                f"p50 {self.percentile(0.5) * 1000:>7.1f} ms  "
                f"p99 {self.percentile(0.99) * 1000:>7.1f} ms  errors {self.errors}")


def drive(clients: int, work: Callable[[httpx.Client, Figures], None]) -> Figures:
    """Run `work` in `clients` threads at once, each with its own HTTP client."""
    figures = Figures()
    lock = threading.Lock()

    def run() -> None:
        local = Figures()
        with httpx.Client(timeout=30) as client:
            work(client, local)
        with lock:
            figures.latencies.extend(local.latencies)
            figures.errors += local.errors

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figures.wall = time.monotonic() - started
    return figures


def timed(figures: Figures, call: Callable[[], httpx.Response]) -> httpx.Response | None:
    """Time one request, counting anything but 2xx as an error."""
    started = time.monotonic()
    try:
        response = call()
    except httpx.HTTPError:
        figures.errors += 1
        return None
    figures.latencies.append(time.monotonic() - started)
    if response.status_code >= 300:
        figures.errors += 1
    return response


def median(values: list[float]) -> float:
    """Return the median, or nan for no values."""
    return statistics.median(values) if values else float("nan")
