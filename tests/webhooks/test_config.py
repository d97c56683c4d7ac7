"""`[[webhooks]]` in the organisation file: checked at start-up, every problem at once."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.org import load_organisation
from tests.webhooks.conftest import ASB_SECRET, org_with_webhooks


def test_a_complete_endpoint_is_read(tmp_path):
    org = load_organisation(org_with_webhooks(tmp_path, f'''
[[webhooks]]
name = "asb"
url = "https://asb.larkspur-homes.example/hooks/reportbot"
secret = "{ASB_SECRET}"
'''))
    [endpoint] = org.webhooks
    assert endpoint.name == "asb" and endpoint.secrets == (ASB_SECRET,)
    assert endpoint.events == {"case.created", "case.updated", "case.closed"}
    assert endpoint.personal_details is False


def test_every_problem_is_named_with_its_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_organisation(org_with_webhooks(tmp_path, f'''
[[webhooks]]
name = "ASB system"
url = "asb.example/hook"
secret = "not-a-secret"
events = ["case.created", "case.deleted"]
personal_detail = true

[[webhooks]]
name = "crm"
url = "https://crm.example/hook"
secret = "{ASB_SECRET}"
previous_secrets = ["whsec_dG9vLXNob3J0"]
'''))
    problems = caught.value.problems
    assert any(p.startswith("webhooks[1].name: expected a short name") for p in problems)
    assert any(p.startswith("webhooks[1].url: expected an http(s) address") for p in problems)
    assert any(p.startswith("webhooks[1].secret: expected a Standard Webhooks secret")
               for p in problems)
    assert any(p.startswith("webhooks[1].events[2]: expected one of") for p in problems)
    assert "webhooks[1].personal_detail: unknown setting; did you mean personal_details?" \
        in problems
    assert any(p.startswith("webhooks[2].previous_secrets[1]: expected a Standard Webhooks")
               for p in problems)
    assert ASB_SECRET not in "\n".join(problems)


def test_each_endpoint_needs_its_own_name(tmp_path):
    table = f'''
[[webhooks]]
name = "crm"
url = "https://crm.example/hook"
secret = "{ASB_SECRET}"
'''
    with pytest.raises(ConfigError, match="webhooks: each webhook needs its own name; used "
                                          "twice: crm"):
        load_organisation(org_with_webhooks(tmp_path, table + table))
