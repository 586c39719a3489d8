"""Customers, their organisations, their identities on every channel, and their plans."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from regulars.accounts.models import Team
from regulars.core.ids import new_cus_id, new_org_id, new_plan_id
from regulars.core.models import TimeStampedModel


class SupportPlan(TimeStampedModel):
    """What a customer bought: how much personal contact, and who may see whose tickets.

    ``organisation_wide_visibility`` lets every customer of an organisation see its tickets.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_plan_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    named_contact = models.BooleanField(default=False, help_text="Includes a named account owner.")
    organisation_wide_visibility = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class Organisation(TimeStampedModel):
    """A company or household whose people are customers. Names are not unique; domains are.

    The owner and backup (agents) and the owning team and its backup are who new tickets of the
    organisation's people are routed to (see ``tickets.services.route_new_ticket``).
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_org_id, editable=False)
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True, null=True, unique=True)
    plan = models.ForeignKey(SupportPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    backup_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    backup_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name


class ContactChannel(models.TextChoices):
    """How a customer prefers to be contacted. Chat is listed so the choice exists the day the
    chat channel does; until then the portal shows it disabled and the service refuses it."""

    EMAIL = "email", "Email"
    PHONE = "phone", "Phone call-back"
    CHAT = "chat", "Chat"


class PersonalContact(models.TextChoices):
    """How much personal contact a customer wants (a named person only where the plan has one)."""

    SELF_SERVICE = "self_service", "Self-service first"
    NAMED_PERSON = "named_person", "A named person"


class Customer(TimeStampedModel):
    """A person we serve, recognised on every channel through their identities.

    Invariants: a merged customer keeps its row with ``merged_into`` set and owns nothing any
    more (identities and tickets moved to the survivor), so old links still resolve. A blocked
    customer's messages are stored and flagged but never answered or notified. The contact
    preferences are the customer's own choice (set in the portal): ``callback_phone`` is set
    whenever ``preferred_contact`` is phone, and ``personal_contact`` is named_person only while
    the effective plan includes a named contact.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_cus_id, editable=False)
    name = models.CharField(max_length=200, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    plan = models.ForeignKey(SupportPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lifetime_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    backup_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    backup_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    time_zone = models.CharField(max_length=64, default="UTC")
    language = models.CharField(max_length=16, default="en")
    notes = models.TextField(blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    is_blocked = models.BooleanField(default=False)
    blocked_reason = models.TextField(blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    preferred_contact = models.CharField(
        max_length=16, choices=ContactChannel.choices, default=ContactChannel.EMAIL
    )
    callback_phone = models.CharField(max_length=32, blank=True, help_text="Normalised; for call-backs.")
    personal_contact = models.CharField(
        max_length=16, choices=PersonalContact.choices, default=PersonalContact.SELF_SERVICE
    )

    def __str__(self) -> str:
        return self.name or self.public_id

    @property
    def effective_plan(self) -> SupportPlan | None:
        if self.plan_id is not None:
            return self.plan
        return self.organisation.plan if self.organisation is not None else None


class Identity(TimeStampedModel):
    """One way to reach a customer: an address, a number, a handle, an external id.

    Invariants: ``value`` is normalised (see services.normalise_identity) and unique per kind,
    so the same address always leads to the same customer.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        SOCIAL = "social", "Social handle"
        EXTERNAL = "external", "External id"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=320)
    is_primary = models.BooleanField(default=False)
    verified = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_per_kind")]
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
