"""The yardstick: every channel's real turns beside the durable-turn floor and a bare endpoint.

    python bench/yardstick.py [--duration 10] [--warmup 2] [--postgres URL] [--quick]

In one run, on one server stack (reportbot's gunicorn `Server`: 2 workers x 4 threads) and
with one load generator (wrk, C, 32 connections), this serves and measures:

- the bare Flask endpoint (bench/bare_app.py): what the stack itself allows;
- per engine (SQLite always; PostgreSQL when --postgres or TEST_DATABASE_URL is given, in a
  fresh schema): the durable-turn floor (bench/floor_app.py), then `reportbot serve` with
  complete reports over web chat, SMS (signed Twilio webhooks) and Telegram (updates; the
  fake Bot API answers at once, then after 150 ms).

It prints a table (requests, rate, p50, p99, errors, rate over the floor's and the bare
endpoint's, p99 over the floor's, reports completed, peak worker memory, start-up time) and
writes it with a description of the machine to bench/results/latest.json. Figures from a
machine that is also running other work are noisy. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from bench import residents  # noqa: E402
from bench.floor_app import prepare  # noqa: E402
from bench.webchat import SECRET, _fresh_pg_schema  # noqa: E402
from bot.db import upgrade_database  # noqa: E402
from tests.conftest import english_only_org  # noqa: E402
from tests.served import BIN, ROOT, Served, free_port, start  # noqa: E402

HERE = Path(__file__).resolve().parent
WRK_DIR = HERE / "wrk"
RESULTS = HERE / "results" / "latest.json"
FLOOR_CONVERSATIONS = 4096
CHANNELS = {"web chat": "webchat", "SMS": "sms", "Telegram": "telegram"}


@dataclass
class Row:
    """One measured endpoint on one engine."""

    channel: str
    engine: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    exhausted_threads: int
    peak_worker_mb: float
    startup_s: float
    reports: int | None = None
    ratio_to_floor: float | None = None
    ratio_to_bare: float | None = None
    p99_to_floor: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(url: str, script: str, args: list[str], duration: int, connections: int) -> dict:
    """Run wrk with one connection per thread and return the script's figures."""
    argv = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{duration}s", "--timeout",
            "30s", "-s", str(WRK_DIR / script), url, "--", str(connections), *args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603 - wrk, our arguments
    match = re.search(r"^YARDSTICK (.*)$", out, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no figures:\n{out}")
    return json.loads(match.group(1))


def row(channel: str, engine: str, figures: dict, server: Served, **extra) -> Row:
    """Make a table row from wrk's figures and the server that answered them."""
    return Row(channel, engine, figures["requests"], figures["seconds"], figures["p50_ms"],
               figures["p99_ms"], figures["status_errors"] + figures["socket_errors"]
               + figures["timeouts"], figures["exhausted_threads"],
               server.peak_worker_memory_mb(), server.started_in, **extra)


def stop(server: Served) -> None:
    """Stop a server at once (SIGINT: gunicorn's quick shutdown); its figures are taken."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGINT)
    server.stop()


def serve_app(target: str, env: dict[str, str], workers: int, threads: int,
              ready_path: str) -> Served:
    """Serve a benchmark app on reportbot's gunicorn stack (bench/serve_app.py)."""
    port = free_port()
    return start([sys.executable, str(HERE / "serve_app.py"), target, "--port", str(port),
                  "--workers", str(workers), "--threads", str(threads)], env, port,
                 ready_path=ready_path, ready_method="POST")


class FakeTelegram:
    """The fake Bot API in its own process; its delay can be changed while it serves."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [sys.executable, str(HERE / "fake_telegram_server.py"), residents.TG_TOKEN, "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def set_delay(self, milliseconds: int) -> None:
        self.proc.stdin.write(f"{milliseconds}\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()  # "delay N ms": the new delay is in force

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


# argon2's cheapest parameters, for --cheap-argon2: the acknowledgement's follow-up code is
# hashed with argon2 (by default 64 MiB and three passes a hash), which is a deliberate
# cost of the submit turn; this takes it out to show what the rest of a turn costs.
CHEAP_ARGON2 = {"REPORTBOT_ARGON2_TIME_COST": "1", "REPORTBOT_ARGON2_MEMORY_COST": "64",
                "REPORTBOT_ARGON2_PARALLELISM": "1"}


def reportbot(database_url: str, instance: Path, workers: int, threads: int,
              fake: FakeTelegram, extra_env: dict[str, str] | None = None) -> Served:
    """Start `reportbot serve` with every channel configured, on `database_url`."""
    env = {"REPORTBOT_DATABASE_URL": database_url, "REPORTBOT_SECRET_KEY": SECRET,
           "REPORTBOT_INSTANCE_DIR": str(instance), "REPORTBOT_PUBLIC_URL": residents.PUBLIC_URL,
           "REPORTBOT_ORG_FILE": str(english_only_org(instance)),
           # Every web chat session comes from one address here, unlike in the field.
           "REPORTBOT_WEBCHAT_SESSIONS_PER_HOUR": "100000000",
           "TWILIO_AUTH_TOKEN": residents.AUTH_TOKEN, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "TWILIO_SMS_FROM": residents.SERVICE_NUMBER, "TWILIO_RATE_LIMIT_PER_MINUTE": "120",
           "TELEGRAM_BOT_TOKEN": residents.TG_TOKEN,
           "TELEGRAM_WEBHOOK_SECRET": residents.TG_SECRET, "TELEGRAM_API_BASE_URL": fake.url,
           **(extra_env or {})}
    # Migrated here, in this process, so that "start-up" is a restart's: an up-to-date
    # database, as in service (and the run is not spent starting another interpreter).
    upgrade_database(database_url)
    port = free_port()
    return start([str(BIN / "reportbot"), "serve", "--port", str(port), "--workers",
                  str(workers), "--threads", str(threads)], env, port)


def cases(database_url: str) -> int:
    """Return how many reports are stored (each completed conversation makes one case)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
    finally:
        engine.dispose()


def settled_cases(database_url: str, patience: float = 5.0) -> int:
    """Count reports once the requests still in flight when wrk stopped have finished."""
    count, deadline = cases(database_url), time.monotonic() + patience
    while time.monotonic() < deadline:
        time.sleep(0.3)
        again = cases(database_url)
        if again == count:
            break
        count = again
    return count


def residents_for(rate: float, duration: int, turns: int, connections: int) -> int:
    """Return enough residents that no wrk thread runs out at `rate` turns a second."""
    return math.ceil(rate * duration / turns) + 2 * connections


class Run:
    """One yardstick run: its settings, the bare figures, and every row measured."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.rows: list[Row] = []
        self.files = 0
        self.stored: int | None = None  # reports stored on the current reportbot database

    def measure(self, server: Served, script: str, args: list[str], duration: int) -> dict:
        return wrk(server.url, script, args, duration, self.args.connections)

    def file(self, name: str) -> Path:
        self.files += 1
        return self.workdir / f"{self.files:03d}-{name}.txt"

    def bare(self) -> Row:
        a = self.args
        server = serve_app("bench.bare_app:app", {}, a.workers, a.threads, "/bare")
        try:
            if a.warmup:
                self.measure(server, "bare.lua", [], a.warmup)
            bare = row("bare endpoint", "-", self.measure(server, "bare.lua", [], a.duration),
                       server)
        finally:
            stop(server)
        self.rows.append(bare)
        return bare

    def floor(self, engine: str, url: str) -> Row:
        a = self.args
        prepare(url, FLOOR_CONVERSATIONS)
        server = serve_app("bench.floor_app:create_app", {"BENCH_FLOOR_DATABASE_URL": url},
                           a.workers, a.threads, "/turn/0")
        try:
            args = [str(FLOOR_CONVERSATIONS)]
            if a.warmup:
                self.measure(server, "floor.lua", ["warmup", *args], a.warmup)
            floor = row("durable-turn floor", engine,
                        self.measure(server, "floor.lua", ["run", *args], a.duration), server)
        finally:
            stop(server)
        self.rows.append(floor)
        return floor

    def channel(self, server: Served, engine: str, url: str, label: str, kind: str,
                rate: float) -> Row:
        a = self.args

        def prepared(seconds: int) -> Path:
            count = residents_for(rate, seconds, residents.turns(kind), a.connections)
            path = self.file(kind)
            if kind == "webchat":
                return residents.webchat(path, server.url, count)
            return getattr(residents, kind)(path, count)

        if a.warmup:
            self.measure(server, "turns.lua", [str(prepared(a.warmup))], a.warmup)
            self.stored = None  # the warm-up's reports are not this run's
        path = prepared(a.duration)
        before = self.stored if self.stored is not None else settled_cases(url)
        figures = self.measure(server, "turns.lua", [str(path)], a.duration)
        self.stored = settled_cases(url)  # also the next run's "before"
        measured = row(label, engine, figures, server, reports=self.stored - before)
        self.rows.append(measured)
        return measured

    def engine(self, engine: str, database, fake: FakeTelegram) -> None:
        """Measure the floor, then every channel, on one engine (each in its own database)."""
        a = self.args
        floor = self.floor(engine, database("floor"))
        url = database("reportbot")
        # Enough prepared residents for turns as fast as the floor and half as fast again.
        rate = max(floor.rate, 200.0) * 1.5
        instance = self.workdir / f"instance-{engine}"
        instance.mkdir()
        self.stored = None
        server = reportbot(url, instance, a.workers, a.threads, fake,
                           CHEAP_ARGON2 if a.cheap_argon2 else None)
        try:
            for label, kind in CHANNELS.items():
                if kind != "telegram":
                    self.channel(server, engine, url, label, kind, rate)
                    continue
                for delay in a.telegram_delays:
                    fake.set_delay(delay)
                    self.channel(server, engine, url, f"Telegram (Bot API {delay} ms)", kind,
                                 rate)
        finally:
            fake.set_delay(0)
            stop(server)


def machine(postgres: str | None) -> dict:
    """Describe the machine the figures come from."""
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = None
    if postgres:
        engine = create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as conn:
                version = conn.execute(text("SHOW server_version")).scalar_one()
        finally:
            engine.dispose()
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True,  # noqa: S607 - wrk from the PATH, as the Makefile installs it
                                 check=False).stdout.split("[")[0].strip()
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,  # noqa: S607 - git from the PATH
                            capture_output=True, text=True, check=False).stdout.strip()
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit,
            "cores": os.cpu_count(),
            "cpu": model, "memory_gb": round(os.sysconf("SC_PAGE_SIZE")
                                             * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "postgresql": version, "wrk": wrk_version,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def ratios(rows: list[Row], bare: Row) -> None:
    """Fill in each row's rate over its engine's floor and over the bare endpoint."""
    floors = {r.engine: r for r in rows if r.channel == "durable-turn floor"}
    for r in rows:
        r.ratio_to_bare = round(r.rate / bare.rate, 3) if bare.rate else None
        floor = floors.get(r.engine)
        if floor is not None and floor.rate:
            r.ratio_to_floor = round(r.rate / floor.rate, 3)
            r.p99_to_floor = round(r.p99_ms / floor.p99_ms, 2) if floor.p99_ms else None


def table(rows: list[Row]) -> str:
    """Format the rows as the printed table."""
    head = (f"{'endpoint':<28} {'engine':<10} {'requests':>8} {'req/s':>8} {'p50 ms':>7} "
            f"{'p99 ms':>7} {'errors':>6} {'/floor':>6} {'/bare':>6} {'p99/fl':>6} "
            f"{'reports':>7} {'peak MB':>7} {'start s':>7}")
    lines = [head, "-" * len(head)]

    def fmt(value, spec: str) -> str:
        return format("-", spec[0] + spec[1:].split(".")[0]) if value is None \
            else format(value, spec)

    for r in rows:  # under 64 requests (two a connection at 32) the figures mean little
        lines.append(
            f"{r.channel:<28} {r.engine:<10} {r.requests:>8} {r.rate:>8.0f} {r.p50_ms:>7.1f} "
            f"{r.p99_ms:>7.1f} {r.errors:>6} {fmt(r.ratio_to_floor, '>6.2f')} "
            f"{fmt(r.ratio_to_bare, '>6.2f')} {fmt(r.p99_to_floor, '>6.2f')} "
            f"{fmt(r.reports, '>7')} {r.peak_worker_mb:>7.0f} {r.startup_s:>7.2f}"
            + ("  (a wrk thread ran out of residents)" if r.exhausted_threads else "")
            + ("  (too few requests to measure)" if r.requests < 64 else ""))
    return "\n".join(lines)


def main() -> None:
    """Serve and measure everything, print the table, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each")
    parser.add_argument("--quick", action="store_true",
                        help="a spot check: 3 s per measurement, no warm-up")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--telegram-delays", type=lambda s: [int(x) for x in s.split(",")],
                        default=[0, 150], help="fake Bot API delays in ms, e.g. 0,150")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""))
    parser.add_argument("--cheap-argon2", action="store_true",
                        help="hash follow-up codes with argon2's cheapest parameters (not "
                             "what a deployment does: to see the rest of the submit turn)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 3, 0
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `make wrk` (Debian package wrk)")
    described = machine(args.postgres or None)
    print(f"reportbot yardstick: wrk, {args.connections} connections, {args.duration} s each "
          f"(warm-up {args.warmup} s); gunicorn {args.workers} workers x {args.threads} "
          f"threads{'; argon2 at its cheapest' if args.cheap_argon2 else ''}; "
          f"{described['cores']} cores, {described['cpu']}, load average "
          f"{described['load_average_at_start']}", flush=True)
    fake = FakeTelegram()
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(args, Path(tmp))
        try:
            bare = run.bare()
            engines = [("sqlite", lambda name: f"sqlite:///{Path(tmp) / name}.sqlite")]
            if args.postgres:
                engines.append(("postgresql", lambda _name: _fresh_pg_schema(args.postgres)))
            for engine, database in engines:
                run.engine(engine, database, fake)
        finally:
            fake.stop()
    ratios(run.rows, bare)
    print(table(run.rows))
    described["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {"machine": described,
              "settings": {"connections": args.connections, "duration_s": args.duration,
                           "warmup_s": args.warmup, "workers": args.workers,
                           "threads": args.threads, "load_generator": "wrk",
                           "server": "reportbot's gunicorn Server (gthread)",
                           "argon2": "cheapest" if args.cheap_argon2 else "as deployed"},
              "rows": [{**asdict(r), "rate": round(r.rate, 1)} for r in run.rows]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
