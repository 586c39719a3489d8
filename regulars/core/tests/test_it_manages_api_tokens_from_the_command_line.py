"""``regulars token create|list|revoke``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from regulars.accounts.models import ApiToken
from regulars.accounts.services import authenticate_token
from regulars.core.testing import Cast


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_only_a_usable_token_on_stdout(cast: Cast) -> None:
    out, err = run("create", "--agent", "BOB@regulars.test", "--name", "ci", "--scopes", "read")

    raw = out.strip()
    assert "\n" not in raw
    token = authenticate_token(raw)
    assert token is not None
    assert token.user == cast.bob
    assert token.name == "ci"
    assert token.scopes == ["read"]
    assert token.prefix in err


def test_it_lists_prefixes_but_never_secrets(cast: Cast) -> None:
    raw_bob, _ = run("create", "--agent", "bob@regulars.test")
    run("create", "--agent", "alice@regulars.test", "--name", "alice's script")

    listing, _ = run("list")
    only_bob, _ = run("list", "--agent", "bob@regulars.test")

    secret = raw_bob.strip().split("_", 2)[2]
    assert secret not in listing
    for token in ApiToken.objects.all():
        assert token.prefix in listing
        assert token.secret_hash not in listing
    assert "alice's script" in listing
    assert "alice" not in only_bob
    assert "active" in only_bob


def test_it_revokes_a_token_so_it_no_longer_authenticates(cast: Cast) -> None:
    raw = run("create", "--agent", "bob@regulars.test")[0].strip()
    prefix = ApiToken.objects.get().prefix

    out, _ = run("revoke", prefix)

    assert f"Revoked token {prefix}" in out
    assert authenticate_token(raw) is None
    assert "revoked" in run("list")[0]
    assert "already revoked" in run("revoke", prefix)[0]


def test_it_refuses_an_unknown_agent(cast: Cast) -> None:
    with pytest.raises(CommandError, match=r"No agent with the address nobody@regulars\.test"):
        run("create", "--agent", "nobody@regulars.test")
    assert not ApiToken.objects.exists()


def test_it_refuses_a_customer_as_the_agent(cast: Cast) -> None:
    with pytest.raises(CommandError, match="No agent"):
        run("create", "--agent", "carol@acme.example")


def test_it_refuses_an_unknown_scope(cast: Cast) -> None:
    with pytest.raises(CommandError, match="Scopes must be read and/or write"):
        run("create", "--agent", "bob@regulars.test", "--scopes", "read,admin")


def test_it_refuses_to_revoke_an_unknown_prefix(cast: Cast) -> None:
    with pytest.raises(CommandError, match="No token with the prefix"):
        run("revoke", "abcdef")
