"""Writes for organisations, customers and identities."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from regulars.accounts.models import Team, User
from regulars.accounts.services import record_audit
from regulars.core import events, fastsql
from regulars.core.custom_fields import clean_custom_fields, merge_custom_fields
from regulars.core.errors import Conflict, ValidationFailed
from regulars.core.models import CustomFieldDefinition
from regulars.core.search import index_document, remove_document
from regulars.customers.models import (
    ContactChannel,
    Customer,
    Identity,
    Organisation,
    PersonalContact,
    SupportPlan,
)
from regulars.customers.signals import customers_merged

_PHONE_DIGITS = re.compile(r"\d")


def normalise_identity(kind: str, value: str) -> str:
    """The canonical form under which an identity is stored and looked up."""
    value = value.strip()
    if kind == Identity.Kind.EMAIL:
        value = value.lower()
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValidationFailed(
                f"{value!r} is not an email address.", fields={"email": "invalid"}
            ) from None
        return value
    if kind == Identity.Kind.PHONE:
        digits = "".join(_PHONE_DIGITS.findall(value))
        if not 6 <= len(digits) <= 15:
            raise ValidationFailed(f"{value!r} is not a phone number.", fields={"phone": "invalid"})
        return ("+" if value.startswith(("+", "00")) else "") + (
            digits[2:] if value.startswith("00") else digits
        )
    if kind in (Identity.Kind.SOCIAL, Identity.Kind.EXTERNAL):
        if not value or len(value) > 320:
            raise ValidationFailed(
                "An identity needs a value of at most 320 characters.", fields={kind: "invalid"}
            )
        return value.lower() if kind == Identity.Kind.SOCIAL else value
    raise ValidationFailed(f"Unknown identity kind {kind!r}.", fields={"kind": "invalid"})


def _reindex_customer(customer: Customer) -> None:
    _index_customer(customer, list(customer.identities.values_list("value", flat=True)))


def _index_customer(customer: Customer, values: list[str], *, new: bool = False) -> None:
    org_name = customer.organisation.name if customer.organisation_id and customer.organisation else ""
    index_document(
        "customer",
        customer.pk,
        " ".join([customer.name, org_name, *values]),
        customer_id=customer.pk,
        new=new,
    )


@transaction.atomic
def create_plan(*, name: str, slug: str, actor: User | None = None, **fields: Any) -> SupportPlan:
    if SupportPlan.objects.filter(slug=slug).exists():
        raise Conflict(f"A plan with slug {slug} exists.", code="plan_exists")
    plan = SupportPlan.objects.create(name=name, slug=slug, **fields)
    record_audit(actor, "plan.created", "plan", plan.public_id, name=name)
    return plan


@transaction.atomic
def create_organisation(
    *,
    name: str,
    domain: str | None = None,
    plan: SupportPlan | None = None,
    owner: User | None = None,
    backup_owner: User | None = None,
    owner_team: Team | None = None,
    backup_team: Team | None = None,
    custom_fields: dict[str, Any] | None = None,
    actor: User | None = None,
) -> Organisation:
    name = name.strip()
    if not name:
        raise ValidationFailed("An organisation needs a name.", fields={"name": "required"})
    domain = domain.strip().lower() if domain else None
    if domain and Organisation.objects.filter(domain=domain).exists():
        raise Conflict(f"An organisation with the domain {domain} exists.", code="domain_taken")
    _check_owners(owner, backup_owner)
    org = Organisation.objects.create(
        name=name,
        domain=domain or None,
        plan=plan,
        owner=owner,
        backup_owner=backup_owner,
        owner_team=owner_team,
        backup_team=backup_team,
        custom_fields=clean_custom_fields("organisation", custom_fields or {}, partial=False),
    )
    record_audit(actor, "organisation.created", "organisation", org.public_id, name=name)
    events.emit("organisation.created", organisation_id=org.pk)
    return org


def _check_owners(owner: User | None, backup: User | None) -> None:
    for label, person in (("owner", owner), ("backup_owner", backup)):
        if person is not None and not person.is_agent:
            raise ValidationFailed("Owners must be agents.", fields={label: "not an agent"})


@transaction.atomic
def create_customer(
    *,
    name: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    identities: Iterable[tuple[str, str]] = (),
    organisation: Organisation | None = None,
    plan: SupportPlan | None = None,
    lifetime_value: Decimal | int = 0,
    owner: User | None = None,
    backup_owner: User | None = None,
    owner_team: Team | None = None,
    backup_team: Team | None = None,
    time_zone: str = "UTC",
    language: str = "en",
    custom_fields: dict[str, Any] | None = None,
    actor: User | None = None,
) -> Customer:
    pairs = [("email", e) for e in emails] + [("phone", p) for p in phones] + list(identities)
    normalised = [(kind, normalise_identity(kind, value)) for kind, value in pairs]
    with fastsql.pipeline():
        return _create_customer(
            normalised, name, organisation, plan, lifetime_value, owner, backup_owner, owner_team,
            backup_team, time_zone, language, custom_fields, actor,
        )  # fmt: skip


def _create_customer(
    normalised: list[tuple[str, str]],
    name: str,
    organisation: Organisation | None,
    plan: SupportPlan | None,
    lifetime_value: Decimal | int,
    owner: User | None,
    backup_owner: User | None,
    owner_team: Team | None,
    backup_team: Team | None,
    time_zone: str,
    language: str,
    custom_fields: dict[str, Any] | None,
    actor: User | None,
) -> Customer:
    # Everything this write reads is asked for at once (one round trip on PostgreSQL) and then
    # checked in the usual order; the writes after the INSERT cost no round trip of their own.
    taken = [fastsql.send(_IDENTITY_TAKEN, pair) for pair in normalised]
    pending_org = None
    if organisation is None:
        pending_org = _send_organisation_for_emails([v for k, v in normalised if k == "email"])
    pending_fields = fastsql.send_select(CustomFieldDefinition, '"target" = %s', ["customer"])
    _ensure_identities_free(normalised, taken=[bool(pending.rows()) for pending in taken])
    _check_owners(owner, backup_owner)
    _check_time_zone(time_zone)
    if pending_org is not None:
        found = pending_org.rows()
        organisation = found[0] if found else None
    definitions = pending_fields.rows()
    customer = Customer(
        name=name.strip(),
        organisation=organisation,
        plan=plan,
        lifetime_value=Decimal(lifetime_value),
        owner=owner,
        backup_owner=backup_owner,
        owner_team=owner_team,
        backup_team=backup_team,
        time_zone=time_zone,
        language=language,
        custom_fields=clean_custom_fields(
            "customer", custom_fields or {}, partial=False, definitions=definitions
        ),
    )
    # Written with SQL compiled once (``fastsql``): every new sender of an email creates a
    # customer, and the ORM's compilation was most of the cost of this function.
    fastsql.insert(customer)
    seen_kinds: set[str] = set()
    for kind, value in normalised:
        # The first identity of each kind is the one we write to.
        identity = Identity(customer=customer, kind=kind, value=value, is_primary=kind not in seen_kinds)
        fastsql.insert(identity, need_pk=False)
        seen_kinds.add(kind)
    # A new customer has exactly these identities and no search document yet.
    _index_customer(customer, [value for _, value in normalised], new=True)
    record_audit(
        actor, "customer.created", "customer", customer.public_id, identities=[v for _, v in normalised]
    )
    events.emit("customer.created", customer_id=customer.pk)
    return customer


def _check_time_zone(name: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{name!r} is not a time zone.", fields={"time_zone": "invalid"}) from None


def _ensure_identities_free(pairs: list[tuple[str, str]], *, taken: list[bool] | None = None) -> None:
    """``taken``: per pair, whether it is in use, when the caller has asked already."""
    for index, (kind, value) in enumerate(pairs):
        if taken[index] if taken is not None else fastsql.execute(_IDENTITY_TAKEN, [kind, value]):
            raise Conflict(f"The {kind} {value} belongs to another customer.", code="identity_taken")
    if len(set(pairs)) != len(pairs):
        raise ValidationFailed("The same identity was given twice.", fields={"identities": "duplicate"})


_IDENTITY_TAKEN = 'SELECT 1 FROM "customers_identity" WHERE "kind" = %s AND "value" = %s LIMIT 1'
# The customer of the identity (kind, value); unique per kind, the ORDER BY is ``.first()``'s.
_BY_IDENTITY = (
    '"id" = (SELECT "customer_id" FROM "customers_identity" WHERE "kind" = %s AND "value" = %s'
    ' ORDER BY "id" LIMIT 1)'
)


def _send_organisation_for_emails(emails: list[str]) -> fastsql.Pending | None:
    """The first organisation owning the domain of one of ``emails``, sent now and read with
    ``.rows()``; ``None`` when no address has a domain."""
    domains = sorted({e.rsplit("@", 1)[1] for e in emails if "@" in e})
    if not domains:
        return None
    where = '"domain" IN ({})'.format(", ".join(["%s"] * len(domains)))  # only placeholders formatted
    return fastsql.send_select(Organisation, where, domains, order_by='"id"', limit=1)


def find_customer_by_identity(kind: str, value: str) -> Customer | None:
    found = fastsql.select(Customer, _BY_IDENTITY, [kind, normalise_identity(kind, value)])
    return found[0] if found else None


def get_or_create_customer_by_email(email: str, *, name: str = "", actor: User | None = None) -> Customer:
    if not transaction.get_connection().in_atomic_block:
        # On its own, the look-up and the creation share one transaction (on SQLite, one write
        # lock), so two calls for one new address cannot both decide to create.
        with transaction.atomic():
            return get_or_create_customer_by_email(email, name=name, actor=actor)
    # Inside the caller's transaction no savepoint of our own is needed: the look-up writes
    # nothing, and ``create_customer`` has its own.
    existing = find_customer_by_identity("email", email)
    if existing is not None:
        return existing
    return create_customer(name=name, emails=[email], actor=actor)


@transaction.atomic
def add_identity(
    customer: Customer, kind: str, value: str, *, verified: bool = False, actor: User | None = None
) -> Identity:
    value = normalise_identity(kind, value)
    _ensure_identities_free([(kind, value)])
    is_primary = not customer.identities.filter(kind=kind).exists()
    identity = Identity.objects.create(
        customer=customer, kind=kind, value=value, verified=verified, is_primary=is_primary
    )
    _reindex_customer(customer)
    record_audit(actor, "customer.identity_added", "customer", customer.public_id, kind=kind, value=value)
    return identity


@transaction.atomic
def remove_identity(identity: Identity, *, actor: User | None = None) -> None:
    customer = identity.customer
    record_audit(
        actor,
        "customer.identity_removed",
        "customer",
        customer.public_id,
        kind=identity.kind,
        value=identity.value,
    )
    identity.delete()
    _reindex_customer(customer)


UPDATABLE_CUSTOMER_FIELDS = frozenset(
    {
        "name",
        "organisation",
        "plan",
        "lifetime_value",
        "owner",
        "backup_owner",
        "owner_team",
        "backup_team",
        "time_zone",
        "language",
        "notes",
        "custom_fields",
    }
)


@transaction.atomic
def update_customer(customer: Customer, *, actor: User | None = None, **changes: Any) -> Customer:
    unknown = set(changes) - UPDATABLE_CUSTOMER_FIELDS
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={k: "unknown" for k in unknown})
    _check_owners(changes.get("owner"), changes.get("backup_owner"))
    if "time_zone" in changes:
        _check_time_zone(changes["time_zone"])
    if "custom_fields" in changes:
        cleaned = clean_custom_fields("customer", changes["custom_fields"] or {})
        changes["custom_fields"] = merge_custom_fields(customer.custom_fields, cleaned)
    if "lifetime_value" in changes:
        changes["lifetime_value"] = Decimal(changes["lifetime_value"])
    diff = {}
    for field, value in changes.items():
        old = getattr(customer, field)
        if old != value:
            diff[field] = [_plain(old), _plain(value)]
            setattr(customer, field, value)
    if diff:
        customer.save(update_fields=[*diff.keys(), "updated_at"])
        _reindex_customer(customer)
        record_audit(actor, "customer.updated", "customer", customer.public_id, changes=diff)
        events.emit("customer.updated", customer_id=customer.pk, fields=sorted(diff))
    return customer


def _plain(value: Any) -> Any:
    if hasattr(value, "public_id"):
        return value.public_id
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def merge_customers(source: Customer, target: Customer, *, actor: User | None = None) -> Customer:
    """Fold ``source`` into ``target``: identities, tickets and history move; nothing is lost."""
    if source.pk == target.pk:
        raise ValidationFailed("A customer cannot be merged into itself.", code="same_customer")
    # Decide on the locked rows, not on whatever copies the caller holds.
    # Lock both rows in a stable order so two concurrent merges cannot cross.
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise Conflict("One of these customers was already merged.", code="already_merged")
    moved = list(source.identities.values_list("kind", "value"))
    source.identities.update(customer=target, is_primary=False)
    if target.organisation_id is None and source.organisation_id is not None:
        target.organisation_id = source.organisation_id
    target.lifetime_value = target.lifetime_value + source.lifetime_value
    target.custom_fields = {**source.custom_fields, **target.custom_fields}
    if source.notes:
        target.notes = (target.notes + "\n\n" + source.notes).strip()
    target.save(update_fields=["organisation", "lifetime_value", "custom_fields", "notes", "updated_at"])
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated_at"])
    if source.user_id and not target.user_id:
        target.user_id, source.user_id = source.user_id, None
        source.save(update_fields=["user"])
        target.save(update_fields=["user"])
    customers_merged.send(sender=Customer, source=source, target=target, actor=actor)
    _reindex_customer(target)
    remove_document("customer", source.pk)
    record_audit(
        actor,
        "customer.merged",
        "customer",
        target.public_id,
        source=source.public_id,
        identities=[list(p) for p in moved],
    )
    events.emit("customer.merged", source_id=source.pk, target_id=target.pk)
    return target


@transaction.atomic
def block_customer(customer: Customer, *, reason: str, actor: User | None = None) -> Customer:
    """Stop answering a customer. Their messages are still stored (flagged), so no evidence is lost."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Say why the customer is blocked.", fields={"reason": "required"})
    if customer.is_blocked:
        raise Conflict("This customer is already blocked.", code="already_blocked")
    customer.is_blocked = True
    customer.blocked_reason = reason
    customer.blocked_at = timezone.now()
    customer.save(update_fields=["is_blocked", "blocked_reason", "blocked_at", "updated_at"])
    record_audit(actor, "customer.blocked", "customer", customer.public_id, reason=reason)
    events.emit("customer.blocked", customer_id=customer.pk)
    return customer


@transaction.atomic
def unblock_customer(customer: Customer, *, reason: str = "", actor: User | None = None) -> Customer:
    if not customer.is_blocked:
        raise Conflict("This customer is not blocked.", code="not_blocked")
    customer.is_blocked = False
    customer.blocked_at = None
    customer.save(update_fields=["is_blocked", "blocked_at", "updated_at"])
    record_audit(
        actor,
        "customer.unblocked",
        "customer",
        customer.public_id,
        reason=reason,
        was=customer.blocked_reason,
    )
    events.emit("customer.unblocked", customer_id=customer.pk)
    return customer


@transaction.atomic
def update_organisation(org: Organisation, *, actor: User | None = None, **changes: Any) -> Organisation:
    allowed = {
        "name",
        "domain",
        "plan",
        "owner",
        "backup_owner",
        "owner_team",
        "backup_team",
        "notes",
        "custom_fields",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={k: "unknown" for k in unknown})
    _check_owners(changes.get("owner"), changes.get("backup_owner"))
    if "custom_fields" in changes:
        changes["custom_fields"] = merge_custom_fields(
            org.custom_fields, clean_custom_fields("organisation", changes["custom_fields"] or {})
        )
    if changes.get("domain"):
        changes["domain"] = changes["domain"].strip().lower()
        if Organisation.objects.filter(domain=changes["domain"]).exclude(pk=org.pk).exists():
            raise Conflict("Another organisation has this domain.", code="domain_taken")
    diff = {}
    for field, value in changes.items():
        if getattr(org, field) != value:
            diff[field] = [_plain(getattr(org, field)), _plain(value)]
            setattr(org, field, value)
    if diff:
        org.save(update_fields=[*diff.keys(), "updated_at"])
        record_audit(actor, "organisation.updated", "organisation", org.public_id, changes=diff)
    return org


# Channels a customer can choose today. Chat joins this set the day the chat channel exists.
AVAILABLE_CONTACT_CHANNELS = frozenset({ContactChannel.EMAIL, ContactChannel.PHONE})


@transaction.atomic
def update_contact_preferences(
    customer: Customer,
    *,
    preferred_contact: str,
    personal_contact: str,
    callback_phone: str = "",
    actor: User | None = None,
) -> Customer:
    """Record how a customer wants to be contacted and how much personal contact they want.

    A phone call-back needs a number; chat cannot be chosen until the channel exists; a named
    person only where the customer's plan includes one (support plans decide that, seed 000).
    """
    if preferred_contact not in ContactChannel.values:
        raise ValidationFailed("Choose how we should contact you.", fields={"preferred_contact": "invalid"})
    if preferred_contact not in AVAILABLE_CONTACT_CHANNELS:
        raise ValidationFailed(
            "That way of contacting you is not available yet.", fields={"preferred_contact": "unavailable"}
        )
    phone = callback_phone.strip()
    if phone:
        phone = normalise_identity(Identity.Kind.PHONE, phone)
    elif preferred_contact == ContactChannel.PHONE:
        raise ValidationFailed("A call-back needs a phone number.", fields={"callback_phone": "required"})
    if personal_contact not in PersonalContact.values:
        raise ValidationFailed(
            "Choose how much personal contact you want.", fields={"personal_contact": "invalid"}
        )
    customer = (
        Customer.objects.select_for_update(of=("self",))
        .select_related("plan", "organisation__plan")
        .get(pk=customer.pk)
    )
    plan = customer.effective_plan
    if personal_contact == PersonalContact.NAMED_PERSON and not (plan is not None and plan.named_contact):
        raise ValidationFailed(
            "Your support plan does not include a named person.", fields={"personal_contact": "not in plan"}
        )
    new = {
        "preferred_contact": preferred_contact,
        "callback_phone": phone,
        "personal_contact": personal_contact,
    }
    diff = {f: [getattr(customer, f), v] for f, v in new.items() if getattr(customer, f) != v}
    if diff:
        for field, (_, value) in diff.items():
            setattr(customer, field, value)
        customer.save(update_fields=[*diff.keys(), "updated_at"])
        record_audit(actor, "customer.preferences_updated", "customer", customer.public_id, changes=diff)
        events.emit("customer.updated", customer_id=customer.pk, fields=sorted(diff))
    return customer
