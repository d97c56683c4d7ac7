"""Serve a benchmark WSGI app on reportbot's own server stack (`bot.serving.Server`).

    python bench/serve_app.py MODULE:ATTR [--port 8000] [--workers 2] [--threads 4]

ATTR is a Flask app or a factory taking no arguments. The bare endpoint and the durable-turn
floor are served this way so that gunicorn's worker class, threads, timeout and access log
are those of `reportbot serve`, and only the application differs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.serving import Server  # noqa: E402


def main() -> None:
    """Load the app and serve it until stopped."""
    parser = argparse.ArgumentParser()
    parser.add_argument("app", help="module:attribute, e.g. bench.bare_app:app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    module, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module), attribute)
    if not hasattr(app, "wsgi_app"):
        app = app()
    Server(app, f"{args.host}:{args.port}", args.workers, args.threads).run()


if __name__ == "__main__":
    main()
