"""Start servers under gunicorn, drive them with concurrent clients, and print figures."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.served import BIN, ROOT, Served, free_port, start  # the one way to serve

__all__ = ["BIN", "ROOT", "Figures", "Served", "drive", "free_port", "start", "timed"]


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
