"""Shapes of what goes in and out. Limits live here, so the OpenAPI document states them."""

from __future__ import annotations

import base64
import math
from datetime import datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from ninja import Schema
from pydantic import Field, StringConstraints

from regulars.api.types import JsonObject, Printable, PublicId, ShortText, Text, TicketNumber

MAX_ATTACHMENTS = 10
_MAX_B64 = 4 * math.ceil(settings.ATTACHMENT_MAX_BYTES / 3)

Priority = Literal["low", "normal", "high", "urgent"]
TicketType = Literal["question", "incident", "problem", "task"]
Channel = Literal["email", "web", "chat", "phone", "social", "api"]
IdentityKind = Literal["email", "phone", "social", "external"]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")]
TagName = Annotated[str, StringConstraints(min_length=1, max_length=64), Printable]
Body = Annotated[Text, Field(min_length=1, max_length=200_000)]
BodyHtml = Annotated[Text, Field(max_length=400_000)]


class Page(Schema):
    next_cursor: str | None


# --- attachments ------------------------------------------------------------------------------


class AttachmentIn(Schema):
    filename: Annotated[Text, Field(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(max_length=120, pattern=r"^[\w.+-]+/[\w.+-]+$")] = (
        "application/octet-stream"
    )
    content_base64: Annotated[str, StringConstraints(max_length=_MAX_B64)]

    def decoded(self) -> bytes:
        return base64.b64decode(self.content_base64, validate=True)


class AttachmentOut(Schema):
    id: str
    filename: str
    content_type: str
    size: int
    url: str


# --- tickets ----------------------------------------------------------------------------------


class TicketIn(Schema):
    subject: Annotated[Text, Field(min_length=1, max_length=250)]
    body: Body
    body_html: BodyHtml | None = None
    requester_email: Email | None = None
    requester_id: PublicId | None = None
    requester_name: ShortText = ""
    priority: Priority | None = None
    priority_reason: Annotated[Text, Field(max_length=400)] = ""
    ticket_type: TicketType = "question"
    channel: Channel = "api"
    tags: list[TagName] = Field(default_factory=list, max_length=50)
    team: PublicId | None = None
    assignee: PublicId | None = None
    custom_fields: JsonObject = Field(default_factory=dict)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class TicketPatch(Schema):
    subject: Annotated[Text, Field(min_length=1, max_length=250)] | None = None
    status: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[-a-z0-9_]+$")] | None
    ) = None
    priority: Priority | None = None
    priority_reason: Annotated[Text, Field(max_length=400)] | None = None
    ticket_type: TicketType | None = None
    team: PublicId | None = None
    assignee: PublicId | None = None
    tags: list[TagName] | None = Field(default=None, max_length=50)
    custom_fields: JsonObject | None = None
    collaborators: list[PublicId] | None = Field(default=None, max_length=50)


class TicketOut(Schema):
    number: int
    subject: str
    status: str
    status_category: str
    priority: str
    priority_reason: str
    ticket_type: str
    channel: str
    requester: str
    organisation: str | None
    team: str | None
    assignee: str | None
    tags: list[str]
    collaborators: list[str]
    custom_fields: dict[str, Any]
    merged_into: int | None
    is_flagged: bool
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None


class TicketPage(Page):
    items: list[TicketOut]


class MessageIn(Schema):
    body: Body
    body_html: BodyHtml | None = None
    public: bool = True
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class MessageOut(Schema):
    id: str
    kind: str
    public: bool
    author_type: str
    author: str | None
    channel: str
    body_text: str
    body_html: str
    is_flagged: bool
    created_at: datetime
    attachments: list[AttachmentOut]


class MessagePage(Page):
    items: list[MessageOut]


class EventOut(Schema):
    action: str
    field: str
    old: Any = None
    new: Any = None
    actor: str | None
    created_at: datetime


class EventPage(Page):
    items: list[EventOut]


class MergeTicketIn(Schema):
    into: TicketNumber


# --- customers and organisations --------------------------------------------------------------


class IdentityIn(Schema):
    kind: IdentityKind
    value: Annotated[Text, Field(min_length=1, max_length=320)]
    verified: bool = False


class IdentityOut(Schema):
    id: str
    kind: str
    value: str
    is_primary: bool
    verified: bool


Money = Annotated[str, StringConstraints(pattern=r"^-?\d{1,12}(\.\d{1,2})?$")]
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")]
Language = Annotated[str, StringConstraints(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9\-]+$")]


class CustomerIn(Schema):
    name: ShortText = ""
    identities: list[IdentityIn] = Field(default_factory=list, max_length=20)
    organisation: PublicId | None = None
    lifetime_value: Money = "0"
    owner: PublicId | None = None
    backup_owner: PublicId | None = None
    owner_team: PublicId | None = None
    backup_team: PublicId | None = None
    time_zone: TimeZone = "UTC"
    language: Language = "en"
    custom_fields: JsonObject = Field(default_factory=dict)


class CustomerPatch(Schema):
    name: ShortText | None = None
    organisation: PublicId | None = None
    lifetime_value: Money | None = None
    owner: PublicId | None = None
    backup_owner: PublicId | None = None
    owner_team: PublicId | None = None
    backup_team: PublicId | None = None
    time_zone: TimeZone | None = None
    language: Language | None = None
    notes: Annotated[Text, Field(max_length=10_000)] | None = None
    custom_fields: JsonObject | None = None


class CustomerOut(Schema):
    id: str
    name: str
    organisation: str | None
    plan: str | None
    lifetime_value: str
    owner: str | None
    backup_owner: str | None
    owner_team: str | None
    backup_team: str | None
    time_zone: str
    language: str
    custom_fields: dict[str, Any]
    is_blocked: bool
    # Set by the customer in the portal; agents read them here and in the desk.
    preferred_contact: Literal["email", "phone", "chat"]
    callback_phone: str
    personal_contact: Literal["self_service", "named_person"]
    merged_into: str | None
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime


class CustomerPage(Page):
    items: list[CustomerOut]


class MergeCustomerIn(Schema):
    into: PublicId


class BlockIn(Schema):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


class UnblockIn(Schema):
    reason: Annotated[Text, Field(max_length=2000)] = ""


Domain = Annotated[str, StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9.\-]*$")]


class OrganisationIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    domain: Domain | None = None
    owner: PublicId | None = None
    backup_owner: PublicId | None = None
    owner_team: PublicId | None = None
    backup_team: PublicId | None = None
    custom_fields: JsonObject = Field(default_factory=dict)


class OrganisationPatch(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    domain: Domain | None = None
    owner: PublicId | None = None
    backup_owner: PublicId | None = None
    owner_team: PublicId | None = None
    backup_team: PublicId | None = None
    notes: Annotated[Text, Field(max_length=10_000)] | None = None
    custom_fields: JsonObject | None = None


class OrganisationOut(Schema):
    id: str
    name: str
    domain: str | None
    plan: str | None
    owner: str | None
    backup_owner: str | None
    owner_team: str | None
    backup_team: str | None
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class OrganisationPage(Page):
    items: list[OrganisationOut]


# --- agents, teams, tags, search --------------------------------------------------------------

AgentRole = Literal["admin", "agent", "light_agent"]


class AgentIn(Schema):
    email: Email
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    role: AgentRole = "agent"
    teams: list[PublicId] = Field(default_factory=list, max_length=50)


class AgentOut(Schema):
    id: str
    email: str
    name: str
    role: str
    is_active: bool
    teams: list[str]


class AgentPage(Page):
    items: list[AgentOut]


class TeamIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=120)]
    description: Annotated[Text, Field(max_length=2000)] = ""


class TeamOut(Schema):
    id: str
    name: str
    description: str
    members: list[str]


class TeamPage(Page):
    items: list[TeamOut]


class MembersIn(Schema):
    members: list[PublicId] = Field(max_length=500)


class TagOut(Schema):
    name: str


class TagPage(Page):
    items: list[TagOut]


class SearchOut(Schema):
    tickets: list[TicketOut]
    customers: list[CustomerOut]
