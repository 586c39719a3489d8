"""The fixed cast of test people, built through the same services as real data.

alice: admin. bob: agent in Support. charlie: light agent in Support. dave: agent who sees only
his teams' tickets (Billing). carol and erin: customers with portal logins, in different
organisations. Tests read as sentences about them.
"""

from __future__ import annotations

from dataclasses import dataclass

from regulars.accounts.models import Role, Team, TicketScope, User
from regulars.accounts.services import create_agent, create_team
from regulars.customers.models import Customer, Organisation
from regulars.customers.services import create_customer, create_organisation


@dataclass
class Cast:
    support: Team
    billing: Team
    alice: User
    bob: User
    charlie: User
    dave: User
    acme: Organisation
    globex: Organisation
    carol: Customer
    erin: Customer
    carol_user: User
    erin_user: User


def customer_login(customer: Customer, email: str) -> User:
    user = User.objects.create_user(
        email=email, password="customer-password-1", name=customer.name, role=Role.CUSTOMER
    )
    customer.user = user
    customer.save(update_fields=["user"])
    return user


def build_cast() -> Cast:
    support = create_team(name="Support")
    billing = create_team(name="Billing")
    alice = create_agent(
        email="alice@regulars.test", name="Alice Admin", role=Role.ADMIN, password="alice-password-1"
    )
    bob = create_agent(
        email="bob@regulars.test", name="Bob Agent", teams=[support], password="bob-password-1"
    )
    charlie = create_agent(
        email="charlie@regulars.test", name="Charlie Light", role=Role.LIGHT_AGENT, teams=[support],
        password="charlie-password-1",
    )  # fmt: skip
    dave = create_agent(
        email="dave@regulars.test", name="Dave Billing", teams=[billing], password="dave-password-1"
    )
    dave.ticket_scope = TicketScope.TEAMS
    dave.save(update_fields=["ticket_scope"])
    acme = create_organisation(name="Acme", domain="acme.example")
    globex = create_organisation(name="Globex", domain="globex.example")
    carol = create_customer(name="Carol Customer", emails=["carol@acme.example"])
    erin = create_customer(name="Erin Other", emails=["erin@globex.example"])
    carol_user = customer_login(carol, "carol@acme.example")
    erin_user = customer_login(erin, "erin@globex.example")
    return Cast(support, billing, alice, bob, charlie, dave, acme, globex, carol, erin, carol_user, erin_user)


def enrol_totp(user: User) -> str:
    """Give ``user`` an authenticator app, as enrolment would; returns the TOTP secret."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code an authenticator app would show for ``secret`` right now."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))
