"""Serve the test suite's fake Telegram Bot API in its own process, for benchmarks.

    python bench/fake_telegram_server.py TOKEN [DELAY_MS]

Prints its base URL on the first line of standard output, then serves until killed, so the
benchmark's client threads and the fake server do not share one interpreter lock. DELAY_MS
(default 0) is spent before each Bot API call is answered, like the real API's round trip;
a number on a line of standard input sets a new delay in milliseconds (bench/yardstick.py
runs Telegram at 0 and at 150 ms against one server without restarting reportbot).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.channels.fake_telegram import FakeBotApi  # noqa: E402

if __name__ == "__main__":
    delay_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server = FakeBotApi(sys.argv[1], delay=delay_ms / 1000).start()
    print(server.url, flush=True)
    for line in sys.stdin:
        if line.strip():
            server.delay = float(line) / 1000
            print(f"delay {line.strip()} ms", flush=True)
    while True:  # standard input closed (or never given): serve on until killed
        time.sleep(3600)
