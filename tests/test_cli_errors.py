"""Every misconfiguration is one line naming the setting, exit status 2, from every command.

The commands run as real subprocesses, the way an operator types them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import DEMO_ORG_FILE
from tests.conftest import TEST_SECRET

REPORTBOT = str(Path(sys.executable).parent / "reportbot")
TELEGRAM_TOKEN = "123456:" + "A" * 35
TWILIO = {"TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
          "TWILIO_SMS_FROM": "+447700900001", "REPORTBOT_PUBLIC_URL": "https://reports.example"}
BAD_TOKEN_LINE = ("Error: TELEGRAM_BOT_TOKEN: does not look like a bot token from BotFather "
                  "(digits, a colon, then letters)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    """Run `reportbot ARGS` with only the given settings in its environment."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("REPORTBOT_", "TWILIO_", "TELEGRAM_"))}
    base["REPORTBOT_INSTANCE_DIR"] = str(tmp_path / "instance")
    return subprocess.run([REPORTBOT, *args], env={**base, **env}, input=stdin,
                          capture_output=True, text=True, timeout=60)


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.mark.parametrize("command", [
    ["serve", "--port", "0"], ["worker"], ["db", "upgrade"], ["telegram", "info"],
    ["telegram", "poll", "--stop-after", "1"], ["chat"], ["expire"],
    ["create-user", "--username", "jo", "--role", "manager", "--password-stdin"],
    ["create-api-token", "--name", "crm"],
])
def test_every_command_names_a_bad_telegram_token_in_one_line(tmp_path, command):
    result = run(tmp_path, *command, stdin="a long enough password 123\n",
                 TELEGRAM_BOT_TOKEN="abc", TELEGRAM_WEBHOOK_SECRET="s" * 20)
    assert one_line(result) == BAD_TOKEN_LINE


def test_twilio_without_the_public_url(tmp_path):
    env = {k: v for k, v in TWILIO.items() if k != "REPORTBOT_PUBLIC_URL"}
    assert one_line(run(tmp_path, "serve", **env)) == (
        "Error: REPORTBOT_PUBLIC_URL: required when TWILIO_AUTH_TOKEN is set (Twilio signs "
        "the public URL it calls)")


def test_twilio_without_the_account_sid_does_not_start_half_working(tmp_path):
    env = {k: v for k, v in TWILIO.items() if k != "TWILIO_ACCOUNT_SID"}
    assert one_line(run(tmp_path, "serve", **env)) == (
        "Error: TWILIO_ACCOUNT_SID: required when TWILIO_AUTH_TOKEN is set (outbound "
        "messages, photos and staff SMS need it)")


def test_telegram_without_the_webhook_secret(tmp_path):
    assert one_line(run(tmp_path, "worker", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN)) == (
        "Error: TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_BOT_TOKEN is set (16-256 "
        "characters of A-Z, a-z, 0-9, _ and -)")


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["worker"],
                                     ["create-api-token", "--name", "crm"]])
def test_unreachable_postgresql_is_named(tmp_path, command):
    port = _free_port()
    result = run(tmp_path, *command,
                 REPORTBOT_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{port}/test",
                 REPORTBOT_SECRET_KEY=TEST_SECRET)
    assert one_line(result) == (f"Error: REPORTBOT_DATABASE_URL: cannot connect to "
                                f"127.0.0.1:{port} (connection refused)")


def test_unwritable_sqlite_folder_is_named(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions; use a path under a file
        target = tmp_path / "a-file"
        target.write_text("")
        url = f"sqlite:///{target}/reportbot.sqlite"
        where = f"{target}/reportbot.sqlite"
    else:
        url = f"sqlite:///{locked}/reportbot.sqlite"
        where = f"{locked}/reportbot.sqlite"
    line = one_line(run(tmp_path, "db", "upgrade", REPORTBOT_DATABASE_URL=url))
    assert line.startswith(f"Error: REPORTBOT_DATABASE_URL: cannot open {where} (")


def test_an_organisation_file_with_several_problems_lists_them_all(tmp_path):
    text = DEMO_ORG_FILE.read_text().replace('out_of_hours_phone = "0808 157 0642"',
                                             'out_of_hour_phone = "0808 157 0642"')
    text = text.replace('end = "17:00"', "end = 17")
    org = tmp_path / "org.toml"
    org.write_text(text)
    result = run(tmp_path, "serve", REPORTBOT_ORG_FILE=str(org))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "Error: organisation.out_of_hour_phone: unknown setting; did you mean "
        "out_of_hours_phone?",
        "Error: working_hours.end: expected a time like \"09:00\", got 17",
    ]


def test_a_typo_in_an_environment_variable_is_named_with_the_closest(tmp_path):
    assert one_line(run(tmp_path, "chat", REPORTBOT_CONVERSATION_EXPIRY_DAY="3")) == (
        "Error: REPORTBOT_CONVERSATION_EXPIRY_DAY: unknown setting; did you mean "
        "REPORTBOT_CONVERSATION_EXPIRY_DAYS?")


def test_debug_shows_the_traceback(tmp_path):
    result = run(tmp_path, "--debug", "worker", TELEGRAM_BOT_TOKEN="abc")
    assert result.returncode != 0 and "Traceback" in result.stderr
    result = run(tmp_path, "worker", TELEGRAM_BOT_TOKEN="abc", REPORTBOT_DEBUG="1")
    assert "Traceback" in result.stderr


def test_a_busy_port_is_one_line_before_anything_claims_to_serve(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(run(tmp_path, "serve", "--port", str(port)))
    assert line == (f"Error: --port {port}: 127.0.0.1:{port} is already in use; choose "
                    "another port (make run PORT=8080)")


def test_telegram_info_with_an_unreachable_bot_api(tmp_path):
    port = _free_port()
    result = run(tmp_path, "telegram", "info", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
                 TELEGRAM_WEBHOOK_SECRET="s" * 20,
                 TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}")
    line = one_line(result)
    assert line.startswith(f"Error: TELEGRAM_API_BASE_URL: cannot reach "
                           f"http://127.0.0.1:{port} (")
    assert TELEGRAM_TOKEN not in result.stderr


def test_chat_starts_with_the_greeting_and_ends_when_the_report_is_done(tmp_path):
    from tests.conftest import english_only_org
    from tests.helpers import VICTIM_REPORT

    answers = [m if isinstance(m, str) else m[0] for m, _ in VICTIM_REPORT]
    # After the acknowledgement the resident declines the optional details ("no"); lines
    # after that must never be read as a new conversation.
    stdin = "\n".join([*answers, "no", "this line comes after the end", "no"]) + "\n"
    result = run(tmp_path, "chat", stdin=stdin,
                 REPORTBOT_ORG_FILE=str(english_only_org(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("Hello")
    assert "Your reference number is" in result.stdout
    assert "this line comes after the end" not in result.stdout
    tail = result.stdout.split("Your reference number is", 1)[1]
    # One prompt answers the offer of details; none waits after the closing words.
    assert tail.count("\n> ") == 1, tail
