from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from regulars.accounts.models import ApiToken
from regulars.accounts.services import authenticate_token, create_api_token, revoke_api_token
from regulars.core.testing import Cast


def test_it_stores_only_a_hash_and_accepts_the_raw_token(cast: Cast) -> None:
    token, raw = create_api_token(cast.bob, name="cli")
    assert raw.startswith(f"rg_{token.prefix}_")
    assert raw.split("_", 2)[2] not in ApiToken.objects.values_list("secret_hash", flat=True)
    assert authenticate_token(raw) == token


def test_it_refuses_revoked_expired_wrong_and_deactivated_tokens(cast: Cast) -> None:
    token, raw = create_api_token(cast.bob, name="a")
    assert authenticate_token(raw[:-1] + ("x" if raw[-1] != "x" else "y")) is None
    assert authenticate_token("garbage") is None
    assert authenticate_token("rg_nope_nope") is None
    revoke_api_token(token, actor=cast.alice)
    assert authenticate_token(raw) is None

    _, expired = create_api_token(cast.bob, name="b", expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate_token(expired) is None

    _, raw_dave = create_api_token(cast.dave, name="c")
    cast.dave.is_active = False
    cast.dave.save(update_fields=["is_active"])
    assert authenticate_token(raw_dave) is None
