"""Settings and the organisation file: clear start-up errors naming the bad key."""

from __future__ import annotations

import os
import stat

import pytest

from bot.errors import ConfigError
from bot.org import load_organisation
from bot.settings import DEMO_ORG_FILE, Settings


def test_embedded_default_generates_a_private_key_file(tmp_path):
    settings = Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance")})
    assert stat.S_IMODE((tmp_path / "instance").stat().st_mode) == 0o700
    tmp_path = tmp_path / "instance"
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings.secret_keys == (key_file.read_text().strip(),)
    assert settings.database_url == f"sqlite:///{tmp_path / 'reportbot.sqlite'}"
    again = Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(tmp_path)})
    assert again.secret_keys == settings.secret_keys


def test_key_file_readable_by_others_is_refused(tmp_path):
    Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(tmp_path)})
    os.chmod(tmp_path / "secret.key", 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(tmp_path)})


def test_postgres_without_a_secret_key_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="REPORTBOT_SECRET_KEY"):
        Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(tmp_path),
                           "REPORTBOT_DATABASE_URL": "postgresql://db/reportbot"})


@pytest.mark.parametrize(("env", "message"), [
    ({"REPORTBOT_SECRET_KEY": "short"}, "at least 32"),
    ({"REPORTBOT_ORG_FILE": "/nonexistent.toml"}, "REPORTBOT_ORG_FILE"),
    ({"REPORTBOT_PUBLIC_URL": "reports.example"}, "REPORTBOT_PUBLIC_URL"),
    ({"REPORTBOT_CONVERSATION_EXPIRY_DAYS": "soon"}, "whole number"),
    ({"REPORTBOT_CONVERSATION_EXPIRY_DAYS": "0"}, "must be positive"),
    ({"REPORTBOT_SMTP_PORT": "smtp"}, "REPORTBOT_SMTP_PORT: expected a whole number"),
    ({"REPORTBOT_SMTP_HOST": "mail.example"}, "REPORTBOT_SMTP_FROM: required"),
    ({"TELEGRAM_BOT_TOKEN": "abc"}, "TELEGRAM_BOT_TOKEN: does not look like a bot token"),
    ({"TELEGRAM_MAX_FILE_BYTES": "-1"}, "TELEGRAM_MAX_FILE_BYTES: must be positive"),
    ({"TWILIO_WHATSAPP_TEMPLATES": "[1]", "TWILIO_AUTH_TOKEN": "t" * 32},
     "TWILIO_WHATSAPP_TEMPLATES"),
    ({"REPORTBOT_SMTP_HOTS": "mail.example"},
     "REPORTBOT_SMTP_HOTS: unknown setting; did you mean REPORTBOT_SMTP_HOST?"),
    ({"REPORTBOT_DATABASE_URL": "postgres://x/y", "REPORTBOT_SECRET_KEY": "k" * 40},
     "postgresql"),
])
def test_bad_settings_name_the_setting(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(tmp_path), **env})


def test_demo_organisation_loads():
    org = load_organisation(DEMO_ORG_FILE)
    assert org.name == "Larkspur Homes" and org.timezone == "Europe/London"
    assert org.working_hours.weekdays == frozenset(range(5))
    assert len(org.support_contacts) == 3


def _org(tmp_path, replace: tuple[str, str] | None = None, append: str = ""):
    text = DEMO_ORG_FILE.read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    path = tmp_path / "org.toml"
    path.write_text(text + append)
    return path


@pytest.mark.parametrize(("change", "key"), [
    (('name = "Larkspur Homes"', 'name = 5'), "organisation.name: expected text"),
    (('email = "safer-neighbourhoods@larkspur-homes.example"', 'email = "nobody"'),
     "organisation.email"),
    (('start = "09:00"', 'start = "nine"'), "working_hours.start"),
    (('start = "09:00"', 'start = "18:00"'), "working_hours"),
    (('bank_holidays = "england"', 'bank_holidays = "narnia"'),
     "working_hours.bank_holidays"),
    (('timezone = "Europe/London"', 'timezone = "Mars/Olympus"'), "working_hours"),
    (('days = ["mon", "tue", "wed", "thu", "fri"]', 'days = ["monday"]'),
     "working_hours.days"),
    (('name = "Riverside Victim Care"', 'nme = "Riverside Victim Care"'),
     "support_contacts[1].nme: unknown setting; did you mean name?"),
    (('phone = "0808 157 0981"', 'phone = 8081570981'), "support_contacts[1].phone"),
])
def test_bad_organisation_file_names_the_key(tmp_path, change, key):
    with pytest.raises(ConfigError) as caught:
        load_organisation(_org(tmp_path, change))
    assert key in str(caught.value)


def test_unknown_setting_is_named(tmp_path):
    with pytest.raises(ConfigError, match="organisation.colour: unknown setting"):
        load_organisation(_org(tmp_path, ('[organisation]\n', '[organisation]\ncolour = "red"\n')))


def test_translations_of_landlord_texts_fall_back_to_english(tmp_path):
    org = load_organisation(_org(tmp_path, ('[organisation]\n',
                                            '[organisation]\nname_translations = '
                                            '{ cy = "Cartrefi Larkspur" }\n')))
    assert org.name_in("cy") == "Cartrefi Larkspur" and org.name_in("pl") == "Larkspur Homes"


def test_invalid_toml_is_reported(tmp_path):
    path = tmp_path / "org.toml"
    path.write_text("[organisation\nname=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_organisation(path)


def test_every_problem_in_the_environment_is_reported_at_once(tmp_path):
    env = {"REPORTBOT_INSTANCE_DIR": str(tmp_path),
           "REPORTBOT_CONVERSATION_EXPIRY_DAYS": "soon",
           "REPORTBOT_PUBLIC_URL": "reports.example",
           "TELEGRAM_BOT_TOKEN": "123456:" + "a" * 30,
           "TWILIO_AUTH_TOKEN": "t" * 32,
           "REPORTBOT_DUTY_EMAIL": "duty@example.org"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.problems == (
        "REPORTBOT_DUTY_EMAIL: unknown setting; did you mean REPORTBOT_DUTY_EMAILS?",
        "REPORTBOT_PUBLIC_URL: must start with http:// or https://, got 'reports.example'",
        "REPORTBOT_CONVERSATION_EXPIRY_DAYS: expected a whole number, got 'soon'",
        "TWILIO_ACCOUNT_SID: required when TWILIO_AUTH_TOKEN is set (outbound messages, "
        "photos and staff SMS need it)",
        "TWILIO_SMS_FROM: required when TWILIO_AUTH_TOKEN is set (or TWILIO_WHATSAPP_FROM "
        "for WhatsApp only, or TWILIO_VOICE_NUMBER for the phone line only): the number "
        "messages are sent from",
        "TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_BOT_TOKEN is set (16-256 "
        "characters of A-Z, a-z, 0-9, _ and -)",
    )


def test_tokens_are_never_echoed_in_errors(tmp_path):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(tmp_path),
                           "REPORTBOT_SECRET_KEY": "short-secret-value"})
    assert "short-secret-value" not in str(caught.value)


def test_a_channel_is_complete_or_off(tmp_path):
    base = {"REPORTBOT_INSTANCE_DIR": str(tmp_path)}
    assert Settings.from_env(base).twilio is None and Settings.from_env(base).telegram is None
    full = Settings.from_env({**base, "TWILIO_AUTH_TOKEN": "t" * 32,
                              "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                              "TWILIO_SMS_FROM": "+447700900001",
                              "REPORTBOT_PUBLIC_URL": "https://reports.example/"})
    assert full.twilio.public_url == "https://reports.example"
    assert full.twilio.account_sid.startswith("AC")
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN: required when other"):
        Settings.from_env({**base, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32})


def test_several_problems_in_the_organisation_file_are_reported_together(tmp_path):
    text = DEMO_ORG_FILE.read_text()
    text = text.replace('out_of_hours_phone = "0808 157 0642"',
                        'out_of_hour_phone = "0808 157 0642"')
    text = text.replace('name = "Larkspur Homes"', "name = 5")
    text = text.replace('start = "09:00"\nend', 'start = "nine"\nend')
    text = text.replace('phone = "0808 157 0981"', "phone = 8081570981")
    text = text.replace('sms = "+447700900301"', 'sms = "07700 900301"')
    path = tmp_path / "org.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_organisation(path)
    assert caught.value.problems == (
        "organisation.name: expected text, got int",
        "organisation.out_of_hour_phone: unknown setting; did you mean out_of_hours_phone?",
        "working_hours.start: expected a time like \"09:00\", got 'nine'",
        "support_contacts[1].phone: expected text, got int",
        "duty_rota[2].sms: expected a number in E.164 form like \"+447700900123\", got "
        "'07700 900301'",
    )


def test_rota_day_names_match_the_rota_module():
    from bot.org import _DAYS
    from bot.rota import DAY_NAMES, WEEKDAYS

    assert set(_DAYS) == set(WEEKDAYS) and set(WEEKDAYS) | {"bank_holiday"} == DAY_NAMES
