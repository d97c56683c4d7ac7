"""Complete conversations over every channel under gunicorn, beside a bare Flask baseline.

    python bench/channels.py [--clients 32] [--reports 2] [--workers 2] [--postgres URL]

Serves `reportbot serve` (gunicorn, 2 workers) on SQLite and on PostgreSQL (when a URL is
given or TEST_DATABASE_URL is set) and drives full reports from many concurrent residents:
signed Twilio SMS webhooks, Telegram updates (replies go to a local fake Bot API) and web
chat. In the same run a bare Flask endpoint on the same server stack is the baseline.
Then one sender floods the SMS webhook while the others report, and the others' latency is
printed beside the quiet run. Figures, not assertions.

Not part of `make bench` any more: its Python client shares the cores with the server and
caps what it can measure (issue 20). bench/yardstick.py is the yardstick; this script stays
for the flood comparison, which the yardstick does not make.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.harness import BIN, Figures, drive, free_port, start, timed  # noqa: E402
from bench.webchat import SECRET, _fresh_pg_schema, bare_baseline  # noqa: E402
from tests.conftest import english_only_org  # noqa: E402
from tests.helpers import VICTIM_REPORT  # noqa: E402

AUTH_TOKEN = "bench-twilio-auth-token-0123456789"  # noqa: S105 - a fictional credential for the local fake
PUBLIC_URL = "https://reports.bench.example"
TG_TOKEN = "123456789:BenchTokenBenchTokenBenchTokenBench"  # noqa: S105 - a fictional credential for the local fake
TG_SECRET = "bench-telegram-secret-0123456789"  # noqa: S105 - a fictional credential for the local fake
ANSWERS = [m if isinstance(m, str) else m[0] for m, _ in VICTIM_REPORT]
_numbers = itertools.count(900100)  # +447700900001 is the service's own number
_updates = itertools.count(1)


def _sms(client, base: str, number: str, text: str, figures: Figures):
    fields = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
              "From": number, "To": "+447700900001", "Body": text, "NumMedia": "0",
              "ApiVersion": "2010-04-01"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_URL + "/webhooks/twilio/messaging", fields)
    return timed(figures, lambda: client.post(f"{base}/webhooks/twilio/messaging",
                                              data=fields,
                                              headers={"X-Twilio-Signature": signature}))


def _telegram(client, base: str, chat: int, text: str, figures: Figures):
    update = {"update_id": next(_updates), "message": {
        "message_id": next(_updates), "date": 1795000000, "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "Sam"},
        "from": {"id": chat, "is_bot": False, "first_name": "Sam", "language_code": "en"}}}
    return timed(figures, lambda: client.post(
        f"{base}/webhooks/telegram", json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}))


def _webchat_report(client, base: str, figures: Figures) -> None:
    token = client.post(f"{base}/api/chat/sessions", json={}).json()["session"]
    for text in ANSWERS:
        timed(figures, lambda t=text, k=token: client.post(
            f"{base}/api/chat/sessions/{k}/messages",
            json={"text": t, "client_id": uuid.uuid4().hex}))


def _sms_report(client, base: str, figures: Figures) -> None:
    number = f"+4477009{next(_numbers):05d}"[:13]
    _sms(client, base, number, "Hello", figures)
    for text in ANSWERS:
        _sms(client, base, number, text, figures)


def _telegram_report(client, base: str, figures: Figures) -> None:
    chat = 700000000 + next(_numbers)
    _telegram(client, base, chat, "/start", figures)
    for text in ANSWERS:
        _telegram(client, base, chat, text, figures)


DRIVERS = {"web chat": _webchat_report, "SMS (signed Twilio)": _sms_report,
           "Telegram (updates)": _telegram_report}


class _FakeTelegram:
    """The fake Bot API in a separate process (see bench/fake_telegram_server.py)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [sys.executable, str(Path(__file__).with_name("fake_telegram_server.py")),
             TG_TOKEN], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def serve(database_url: str, instance: Path, workers: int, fake: _FakeTelegram):
    """Start reportbot with every channel configured; return the server."""
    port = free_port()
    env = {"REPORTBOT_DATABASE_URL": database_url, "REPORTBOT_SECRET_KEY": SECRET,
           "REPORTBOT_INSTANCE_DIR": str(instance), "REPORTBOT_PUBLIC_URL": PUBLIC_URL,
           "REPORTBOT_ORG_FILE": str(english_only_org(instance)),
           "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "TWILIO_SMS_FROM": "+447700900001", "TWILIO_RATE_LIMIT_PER_MINUTE": "120",
           "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
           "TELEGRAM_API_BASE_URL": fake.url}
    if not database_url.startswith("sqlite"):
        subprocess.run([str(BIN / "reportbot"), "db", "upgrade"], env={**os.environ, **env},  # noqa: S603 - our own command, fixed arguments
                       check=True, capture_output=True)
    return start([str(BIN / "reportbot"), "serve", "--port", str(port), "--workers",
                  str(workers)], env, port)


def flood_run(server, clients: int, reports: int) -> tuple[Figures, int]:
    """Drive SMS reports while one sender floods the webhook; return the others' figures."""
    stop = threading.Event()
    flood_count = [0]

    def flood() -> None:
        import httpx

        with httpx.Client(timeout=30) as client:
            sink = Figures()
            while not stop.is_set():
                _sms(client, server.url, "+447700900999", "flood " + uuid.uuid4().hex, sink)
                flood_count[0] += 1

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        figures = drive(clients, lambda c, f: [_sms_report(c, server.url, f)
                                               for _ in range(reports)])
    finally:
        stop.set()
        flooder.join()
    return figures, flood_count[0]


def main() -> None:
    """Run everything and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--reports", type=int, default=2, help="reports per resident")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    turns = len(ANSWERS) + 1
    print(f"reportbot channel benchmark: {args.clients} concurrent residents x {args.reports}"
          f" full reports ({turns} turns each) per channel; gunicorn {args.workers} workers")
    bare, bare_mem = bare_baseline(args.clients, args.reports * turns, args.workers)
    print(bare.line("bare Flask endpoint (baseline)") + f"  peak worker {bare_mem:.0f} MB")
    engines = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    fake = _FakeTelegram()
    try:
        for engine, url in engines:
            with tempfile.TemporaryDirectory() as tmp:
                instance = Path(tmp)
                db_url = _fresh_pg_schema(url) if url else \
                    f"sqlite:///{instance / 'bench.sqlite'}"
                server = serve(db_url, instance, args.workers, fake)
                try:
                    print(f"-- {engine}: start-up to first response {server.started_in:.2f} s")
                    for name, driver in DRIVERS.items():
                        figures = drive(args.clients, lambda c, f, d=driver, u=server.url: [
                            d(c, u, f) for _ in range(args.reports)])
                        print(figures.line(f"{name}") + f"  ratio to bare "
                              f"{figures.rate / bare.rate:.2f}")
                    quiet = drive(args.clients // 2, lambda c, f, u=server.url: [
                        _sms_report(c, u, f) for _ in range(args.reports)])
                    flooded, sent = flood_run(server, args.clients // 2, args.reports)
                    print(quiet.line("others' SMS turns, no flood"))
                    print(flooded.line("others' SMS turns, one sender flooding") +
                          f"  (flood: {sent} messages)")
                    print(f"{'':34} peak worker memory {server.peak_worker_memory_mb():.0f} MB")
                finally:
                    server.stop()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
