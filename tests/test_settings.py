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
     "support_contacts[1].name"),
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
