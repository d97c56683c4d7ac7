"""Serve the test suite's fake Telegram Bot API in its own process, for benchmarks.

Prints its base URL on the first line of standard output, then serves until killed, so the
benchmark's client threads and the fake server do not share one interpreter lock.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.channels.fake_telegram import FakeBotApi  # noqa: E402

if __name__ == "__main__":
    server = FakeBotApi(sys.argv[1]).start()
    print(server.url, flush=True)
    while True:
        time.sleep(3600)
