"""``regulars token create|list|revoke``: API tokens from the command line.

``create`` prints the token alone on stdout, so ``TOKEN=$(regulars token create --agent a@b)``
works; everything else it says goes to stderr.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regulars.accounts.models import AGENT_ROLES, ApiToken, User
from regulars.accounts.services import TOKEN_PREFIX, create_api_token, revoke_api_token
from regulars.core.errors import ValidationFailed


def find_agent(email: str) -> User:
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None or user.role not in AGENT_ROLES:
        raise CommandError(f"No agent with the address {email}.")
    if not user.is_active:
        raise CommandError(f"The agent {email} is deactivated.")
    return user


def prefix_of(raw: str) -> str:
    """Accept a bare prefix, ``rg_<prefix>`` or a whole token, and return the prefix."""
    parts = raw.strip().split("_")
    if len(parts) >= 2 and parts[0] == TOKEN_PREFIX:
        return parts[1]
    return raw.strip()


def token_state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "active" if token.is_usable() else "expired"


class Command(BaseCommand):
    help = "Create, list and revoke API tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        assert isinstance(parser, CommandParser)
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = sub.add_parser("create", help="create a token and print it (shown only once)")
        create.add_argument("--agent", required=True, help="email address of the agent the token acts as")
        create.add_argument("--name", default="command line", help="what the token is for")
        create.add_argument("--scopes", default="read,write", help="comma-separated: read, write")
        listing = sub.add_parser("list", help="list tokens (prefixes only, never secrets)")
        listing.add_argument("--agent", default=None, help="only this agent's tokens")
        revoke = sub.add_parser("revoke", help="revoke a token so it no longer authenticates")
        revoke.add_argument("prefix", help="the token's prefix as shown by `token list`")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self.create(options["agent"], options["name"], options["scopes"])
        elif action == "list":
            self.list_tokens(options["agent"])
        else:
            self.revoke(options["prefix"])

    def create(self, email: str, name: str, scopes_raw: str) -> None:
        agent = find_agent(email)
        scopes = [s.strip() for s in scopes_raw.split(",") if s.strip()]
        try:
            token, raw = create_api_token(agent, name=name, scopes=scopes)
        except ValidationFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"Created token {token.prefix} ({', '.join(token.scopes)}) for {agent.email}. "
            "It is shown once, below; store it now."
        )
        self.stdout.write(raw)

    def list_tokens(self, email: str | None) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__email", "created_at")
        if email is not None:
            tokens = tokens.filter(user=find_agent(email))
        rows = [
            (
                t.prefix,
                token_state(t),
                t.user.email,
                ",".join(t.scopes),
                t.created_at.strftime("%Y-%m-%d %H:%M"),
                t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never",
                t.name,
            )
            for t in tokens
        ]
        if not rows:
            self.stdout.write("No tokens.")
            return
        header = ("PREFIX", "STATE", "AGENT", "SCOPES", "CREATED", "LAST USED", "NAME")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
            self.stdout.write("  ".join([*cells, row[-1]]))

    def revoke(self, raw: str) -> None:
        token = ApiToken.objects.filter(prefix=prefix_of(raw)).first()
        if token is None:
            raise CommandError(f"No token with the prefix {raw}.")
        if token.revoked_at is not None:
            self.stdout.write(f"Token {token.prefix} was already revoked.")
            return
        revoke_api_token(token)
        self.stdout.write(f"Revoked token {token.prefix} ({token.name}) of {token.user.email}.")
