"""Writes for agents, teams, API tokens and the audit log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from regulars.accounts.models import AGENT_ROLES, ApiToken, AuditLog, Role, Team, User
from regulars.core import fastsql
from regulars.core.errors import Conflict, ValidationFailed

TOKEN_PREFIX = "rg"  # noqa: S105 (a label, not a secret)
VALID_SCOPES = frozenset({"read", "write"})


def record_audit(actor: User | None, action: str, object_type: str, object_id: str, **data: Any) -> AuditLog:
    """Append an audit row. Call inside the transaction of the change it describes."""
    return fastsql.insert(
        AuditLog(actor=actor, action=action, object_type=object_type, object_id=str(object_id), data=data),
        need_pk=False,
    )


@transaction.atomic
def create_agent(
    *,
    email: str,
    name: str,
    role: str = Role.AGENT,
    password: str | None = None,
    teams: Iterable[Team] = (),
    actor: User | None = None,
) -> User:
    if role not in AGENT_ROLES:
        raise ValidationFailed(
            "An agent's role must be admin, agent or light_agent.", fields={"role": "invalid"}
        )
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise Conflict(f"A user with the address {email} already exists.", code="email_taken")
    user = User.objects.create_user(
        email=email, password=password, name=name, role=role, is_superuser=(role == Role.ADMIN)
    )
    team_list = list(teams)
    if team_list:
        user.teams.add(*team_list)
    record_audit(
        actor, "agent.created", "agent", user.public_id, role=role, teams=[t.name for t in team_list]
    )
    return user


@transaction.atomic
def create_team(*, name: str, description: str = "", actor: User | None = None) -> Team:
    name = name.strip()
    if not name:
        raise ValidationFailed("A team needs a name.", fields={"name": "required"})
    if Team.objects.filter(name__iexact=name).exists():
        raise Conflict(f"A team called {name} already exists.", code="team_exists")
    team = Team.objects.create(name=name, description=description)
    record_audit(actor, "team.created", "team", team.public_id, name=name)
    return team


@transaction.atomic
def set_team_members(team: Team, members: Iterable[User], *, actor: User | None = None) -> Team:
    people = list(members)
    if any(not m.is_agent for m in people):
        raise ValidationFailed("Only agents can be team members.", fields={"members": "invalid"})
    team.members.set(people)
    record_audit(actor, "team.members_set", "team", team.public_id, members=[m.public_id for m in people])
    return team


def _hash_secret(secret: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_token(
    user: User,
    *,
    name: str,
    scopes: Iterable[str] = ("read", "write"),
    expires_at: datetime | None = None,
    actor: User | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its only plain-text copy, ``rg_<prefix>_<secret>``."""
    scope_list = sorted(set(scopes))
    if not scope_list or not set(scope_list) <= VALID_SCOPES:
        raise ValidationFailed("Scopes must be read and/or write.", fields={"scopes": "invalid"})
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        secret_hash=_hash_secret(secret),
        scopes=scope_list,
        expires_at=expires_at,
    )
    record_audit(
        actor or user, "token.created", "token", token.public_id, user=user.public_id, scopes=scope_list
    )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def revoke_api_token(token: ApiToken, *, actor: User | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_audit(actor, "token.revoked", "token", token.public_id)
    return token


def authenticate_token(raw: str, *, unchanged: dict[Any, Any] | None = None) -> ApiToken | None:
    """The usable token that ``raw`` names, or None. Constant-time on the secret. ``unchanged``:
    a memo of an unchanged database the caller took (``fastsql.unchanged_memo``), to share its
    check with the rest of the request."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    # Every API call starts here: read without the ORM's per-call query compilation (fastsql).
    # memo: the same token row (and its agent's) comes back on every call; any change to either
    # row changes the key, so a revoked token or a deactivated agent is seen at once.
    tokens = fastsql.select_related(
        ApiToken, "user", '"accounts_apitoken"."prefix" = %s', [parts[1]], memo=True, unchanged=unchanged
    )
    if not tokens or not hmac.compare_digest(tokens[0].secret_hash, _hash_secret(parts[2])):
        return None
    token = tokens[0]
    if not token.is_usable() or not token.user.is_active:
        return None
    now = timezone.now()
    # Write last_used_at at most once a minute, so reads do not turn into writes.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        if unchanged is not None:
            unchanged.clear()  # this request changed the database: nothing read before it stays
    return token


@transaction.atomic
def sign_out_everywhere(user: User, *, actor: User | None = None) -> User:
    """End every session of ``user`` (on every device), with an audit row.

    Raising ``session_epoch`` changes the session hash Django checks on each request, so every
    existing session, this one included, stops being valid at once; no session table scan.
    """
    User.objects.filter(pk=user.pk).update(session_epoch=models.F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    record_audit(actor or user, "user.signed_out_everywhere", "user", user.public_id)
    return user
