"""Forms of the desk's queues: the filter bar, bulk actions and saving a filter.

Forms only parse and label input; the rules live in the services they feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.validators import RegexValidator

from regulars.desk.selectors import SORTS, Lookups, QueueFilters
from regulars.tickets.models import Channel, Priority, Status, StatusCategory

TAG_PATTERN = RegexValidator(r"^[-a-z0-9_:.]+$", "Letters, digits, - _ : . only.")
STATUS_CHOICES = [
    ("unsolved", "Unsolved"),
    *StatusCategory.choices,
    ("any", "Any status"),
]
FILTER_KEYS = ("status", "priority", "team", "assignee", "tag", "channel", "sort")


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES, required=False)
    priority = forms.ChoiceField(
        label="Priority", choices=[("", "Any priority"), *Priority.choices], required=False
    )
    team = forms.ChoiceField(label="Team", required=False)
    assignee = forms.ChoiceField(label="Assignee", required=False)
    tag = forms.CharField(label="Tag", required=False, max_length=64)
    channel = forms.ChoiceField(
        label="Channel", choices=[("", "Any channel"), *Channel.choices], required=False
    )
    sort = forms.ChoiceField(label="Sort by", choices=list(SORTS.items()), required=False)

    def __init__(self, *args: Any, lookups: Lookups, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [  # type: ignore[attr-defined]
            ("", "Any team"),
            ("none", "No team"),
            *((t.public_id, t.name) for t in lookups.teams.values()),
        ]
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone"),
            ("me", "Me"),
            ("none", "Nobody"),
            *((a.public_id, a.name or a.email) for a in lookups.agents.values()),
        ]
        for name in ("tag",):
            self.fields[name].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean_tag(self) -> str:
        # Typed the way the services store tags: lower case, spaces as dashes.
        tag = "-".join((self.cleaned_data.get("tag") or "").lower().split())
        if tag:
            TAG_PATTERN(tag)
        return tag

    def filters(self) -> QueueFilters:
        """The filters asked for; a field that does not validate is ignored, not an error page."""
        self.is_valid()
        data = {key: self.cleaned_data.get(key) or "" for key in FILTER_KEYS if key not in self.errors}
        data["sort"] = data.get("sort") or "newest"
        return QueueFilters(**data)


def filters_query(filters: QueueFilters, queue: str, **extra: str | None) -> str:
    """The query string that reproduces ``filters`` on ``queue``: defaults and blanks left out."""
    pairs = []
    for key in FILTER_KEYS:
        value = getattr(filters, key)
        if not value or (key == "sort" and value == "newest"):
            continue
        if key == "status" and value == filters.default_status(queue):
            continue
        pairs.append((key, value))
    pairs += [(key, value) for key, value in extra.items() if value]
    return urlencode(pairs)


def parse_filters(
    queue: str, data: Mapping[str, str], lookups: Lookups
) -> tuple[QueueFilterForm, QueueFilters]:
    """A bound filter form (showing the queue's defaults where nothing was asked) and its filters."""
    defaults = {"status": QueueFilters().default_status(queue), "sort": "newest"}
    form = QueueFilterForm({**defaults, **data}, lookups=lookups)
    return form, form.filters()


class BulkForm(forms.Form):
    """Changes for every selected ticket; blank fields are left as they are."""

    tickets = forms.Field(required=False, widget=forms.MultipleHiddenInput)
    assignee = forms.ChoiceField(label="Assign selected to", required=False)
    status = forms.ChoiceField(label="Set status of selected", required=False)
    tag = forms.CharField(label="Add tag to selected", required=False, max_length=64)
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, lookups: Lookups, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "Keep assignee"),
            ("none", "Nobody (unassign)"),
            *((a.public_id, a.name or a.email) for a in lookups.assignable),
        ]
        self.fields["status"].choices = [  # type: ignore[attr-defined]
            ("", "Keep status"),
            *((s.slug, s.name) for s in lookups.statuses.values() if s.category != StatusCategory.CLOSED),
        ]
        self.fields["assignee"].widget.attrs["data-shortcut"] = "a"
        self.fields["tag"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean_tickets(self) -> list[int]:
        numbers = self.cleaned_data.get("tickets") or []
        try:
            parsed = sorted({int(n) for n in numbers})
        except ValueError:
            raise forms.ValidationError("Select tickets by number.") from None
        if not parsed:
            raise forms.ValidationError("Select at least one ticket.")
        if len(parsed) > 200:
            raise forms.ValidationError("At most 200 tickets at a time.")
        return parsed

    def status_object(self, lookups: Lookups) -> Status | None:
        slug = self.cleaned_data.get("status")
        return next((s for s in lookups.statuses.values() if s.slug == slug), None) if slug else None


class SavedFilterForm(forms.Form):
    name = forms.CharField(label="Name", max_length=80)
    shared = forms.BooleanField(label="Share with every agent", required=False)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)
    queue = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
