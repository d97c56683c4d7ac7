"""The `reportbot` command: tokens, migrations, the terminal chat, and a real server."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import TEST_SECRET
from tests.helpers import VICTIM_REPORT
from tests.served import REPORTBOT, free_port, start

BIN = Path(sys.executable).parent


def _env(tmp_path: Path) -> dict[str, str]:
    return {"REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance"),
            "REPORTBOT_SECRET_KEY": TEST_SECRET}


def test_create_api_token_prints_the_token_alone_on_the_last_line(tmp_path):
    result = CliRunner().invoke(main, ["create-api-token", "--name", "crm"],
                                env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("rbt_") and " " not in token and len(token) > 40


def test_db_upgrade_then_terminal_chat_makes_a_report(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=_env(tmp_path)).exit_code == 0
    # The demo landlord offers a language menu first; English is the first choice.
    answers = "\n".join(["1", *(m if isinstance(m, str) else m[0] for m, _ in VICTIM_REPORT)])
    answers += "\n"
    result = runner.invoke(main, ["chat"], input=answers, env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    assert "1. Yes, I am in danger\n2. No" in result.output
    assert "Your reference number is" in result.output
    # The yearly profile counts can be recounted from the sealed answers.
    recount = runner.invoke(main, ["monitoring", "rebuild"], env=_env(tmp_path))
    assert recount.exit_code == 0, recount.output
    assert "recounted the profiles of 1 case(s)" in recount.output


def test_bad_configuration_fails_with_the_setting_named(tmp_path):
    env = {**_env(tmp_path), "REPORTBOT_ORG_FILE": str(tmp_path / "missing.toml")}
    result = CliRunner().invoke(main, ["chat"], env=env)
    assert result.exit_code != 0 and "REPORTBOT_ORG_FILE" in result.output


def test_serve_migrates_and_serves_with_gunicorn(tmp_path):
    port = free_port()
    env = _env(tmp_path)
    served = start([REPORTBOT, "serve", "--port", str(port), "--workers", "2"], env, port,
                   capture=True)
    try:
        url = served.url
        print(f"start-up to first healthy response: {served.started_in:.2f} s")
        opened = httpx.post(f"{url}/api/chat/sessions", json={}, timeout=5)
        assert opened.status_code == 201
        token = opened.json()["session"]
        asked = opened.json()["messages"][-1]["question"]
        if asked == "language":  # the demo landlord offers its languages first
            httpx.post(f"{url}/api/chat/sessions/{token}/messages", json={"choice": "en"},
                       timeout=5)
        reply = httpx.post(f"{url}/api/chat/sessions/{token}/messages",
                           json={"choice": "no"}, timeout=5)
        assert reply.json()["messages"][-1]["question"] == "reporter_role"
        assert (tmp_path / "instance" / "reportbot.sqlite").exists()
    finally:
        output = served.stop()
    assert "Booting worker" in output
    assert token not in output  # tokens never reach the access log
