"""Forms of the ticket workspace. They only parse input; the rules live in tickets.services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from regulars.accounts.models import Role, Team, User
from regulars.core.models import CustomFieldDefinition
from regulars.tickets.attachments import Upload
from regulars.tickets.models import Priority, Status
from regulars.tickets.services import MAX_BODY


class DeskForm(forms.Form):
    """Labels without Django's trailing colon, as everywhere else in the desk."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; always cleans to a list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def uploads_of(files: Sequence[UploadedFile]) -> list[Upload]:
    return [
        Upload(filename=f.name or "attachment", content_type=f.content_type or "", data=f.read())
        for f in files
    ]


class ReplyForm(DeskForm):
    body = forms.CharField(label="Reply to the customer", max_length=MAX_BODY, widget=forms.Textarea)
    attachments = MultipleFileField(label="Files for the reply")


class NoteForm(DeskForm):
    body = forms.CharField(
        label="Note for the team",
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only agents see notes.",
    )
    attachments = MultipleFileField(label="Files for the note")


def agent_choices() -> Any:
    return User.objects.filter(is_active=True, role__in=(Role.ADMIN, Role.AGENT)).order_by("name", "email")


class AgentChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.name or obj.email


class StatusForm(DeskForm):
    status = forms.ModelChoiceField(
        Status.objects.all(), to_field_name="slug", empty_label=None, label="Status"
    )


class PriorityForm(DeskForm):
    priority = forms.ChoiceField(choices=Priority.choices, label="Priority")
    reason = forms.CharField(
        label="Reason for the priority change", max_length=400, required=False,
        help_text="Required when the priority changes.",
    )  # fmt: skip


class AssigneeForm(DeskForm):
    assignee = AgentChoiceField(
        queryset=agent_choices(),
        to_field_name="public_id",
        required=False,
        empty_label="Nobody",
        label="Assignee",
        # desk.js focuses the element marked with a shortcut when its key is pressed.
        widget=forms.Select(attrs={"data-shortcut": "a", "aria-keyshortcuts": "a"}),
    )


class TeamForm(DeskForm):
    team = forms.ModelChoiceField(
        Team.objects.order_by("name"), to_field_name="public_id", required=False, empty_label="No team",
        label="Team",
    )  # fmt: skip


class TagsForm(DeskForm):
    tags = forms.CharField(
        label="Tags", required=False, max_length=2000, help_text="Separate tags with commas."
    )

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class EscalateForm(DeskForm):
    team = forms.ModelChoiceField(
        Team.objects.order_by("name"), to_field_name="public_id", label="Escalate to team", empty_label=None
    )
    assignee = AgentChoiceField(
        queryset=agent_choices(), to_field_name="public_id", required=False, empty_label="The team's queue",
        label="Hand to (optional)",
    )  # fmt: skip
    reason = forms.CharField(
        label="Reason for escalating", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class MergeForm(DeskForm):
    into = forms.IntegerField(label="Merge into ticket number", min_value=1, max_value=2**63 - 1)


_YES_NO = [("", "—"), ("yes", "Yes"), ("no", "No")]


class CustomFieldsForm(DeskForm):
    """One input per admin-defined ticket field; an empty input removes the value."""

    def __init__(self, definitions: Sequence[CustomFieldDefinition], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.definitions = list(definitions)
        T = CustomFieldDefinition.FieldType
        for d in self.definitions:
            field: forms.Field
            if d.field_type == T.NUMBER:
                field = forms.FloatField(required=False)
            elif d.field_type == T.BOOLEAN:
                field = forms.ChoiceField(choices=_YES_NO, required=False)
            elif d.field_type == T.DATE:
                field = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
            elif d.field_type == T.CHOICE:
                field = forms.ChoiceField(
                    choices=[("", "—")] + [(str(c), str(c)) for c in d.choices], required=False
                )
            else:
                field = forms.CharField(required=False, max_length=10_000)
            field.label = d.label
            self.fields[d.key] = field

    @staticmethod
    def initial_for(definitions: Sequence[CustomFieldDefinition], values: dict[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for d in definitions:
            value = values.get(d.key)
            if d.field_type == CustomFieldDefinition.FieldType.BOOLEAN and value is not None:
                value = "yes" if value else "no"
            initial[d.key] = value
        return initial

    def values(self) -> dict[str, Any]:
        """The cleaned input as typed values for ``clean_custom_fields`` (None removes)."""
        T = CustomFieldDefinition.FieldType
        out: dict[str, Any] = {}
        for d in self.definitions:
            raw = self.cleaned_data.get(d.key)
            if raw in (None, ""):
                out[d.key] = None
            elif d.field_type == T.NUMBER:
                out[d.key] = int(raw) if float(raw).is_integer() else raw
            elif d.field_type == T.BOOLEAN:
                out[d.key] = raw == "yes"
            elif d.field_type == T.DATE:
                out[d.key] = raw.isoformat() if isinstance(raw, dt.date) else raw
            elif d.field_type == T.CHOICE:
                out[d.key] = next((c for c in d.choices if str(c) == raw), raw)
            else:
                out[d.key] = raw
        return out
