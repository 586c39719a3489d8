"""Forms of the portal: they parse and check input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from regulars.core.errors import DomainError
from regulars.customers.models import ContactChannel, PersonalContact
from regulars.tickets.attachments import Upload
from regulars.tickets.services import MAX_BODY, MAX_RATING_COMMENT, MAX_SUBJECT

MAX_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Any number of files up to MAX_FILES, each within ATTACHMENT_MAX_BYTES, together within
    the request budget, so one form cannot fill the disk."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = [d for d in (data if isinstance(data, list | tuple) else [data]) if d]
        files: list[UploadedFile] = [super(AttachmentsField, self).clean(d, initial) for d in items]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_FILES} files.")
        limit = int(settings.ATTACHMENT_MAX_BYTES)
        for f in files:
            if f.size is not None and f.size > limit:
                raise forms.ValidationError(f"{f.name} is too large: a file may be at most {_size(limit)}.")
        total = sum(f.size or 0 for f in files)
        if total > int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE):
            raise forms.ValidationError(
                f"The files are too large together: at most {_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}."
            )
        return files


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def uploads(files: list[UploadedFile]) -> list[Upload]:
    return [
        Upload(
            filename=f.name or "attachment",
            content_type=f.content_type or "application/octet-stream",
            data=f.read(),
        )
        for f in files
    ]


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form: on the fields it names, else above the form."""
    placed = False
    for field, reason in error.fields.items():
        if field in form.fields:
            form.add_error(field, f"{error.message}" if len(error.fields) == 1 else reason)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class SignInLinkForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)


class _WithAttachments(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = _size(int(settings.ATTACHMENT_MAX_BYTES))
        self.fields["attachments"].help_text = f"Up to {MAX_FILES} files, each at most {limit}."


class RequestForm(_WithAttachments):
    """What a signed-in customer fills in."""

    subject = forms.CharField(
        label="Subject", max_length=MAX_SUBJECT,
        error_messages={"required": "Please give your request a subject."},
    )  # fmt: skip
    body = forms.CharField(
        label="Message", max_length=MAX_BODY, widget=forms.Textarea,
        error_messages={"required": "Please describe what you need."},
    )  # fmt: skip
    attachments = AttachmentsField(label="Attach files")

    def clean_subject(self) -> str:
        return " ".join(self.cleaned_data["subject"].split())


class AnonymousRequestForm(RequestForm):
    """Someone not signed in also says who they are; the address is confirmed by email."""

    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(label="Email", max_length=254)

    field_order = ["name", "email", "subject", "body", "attachments"]


class ReplyForm(_WithAttachments):
    body = forms.CharField(
        label="Your reply", max_length=MAX_BODY, widget=forms.Textarea,
        error_messages={"required": "Please write a reply."},
    )  # fmt: skip
    attachments = AttachmentsField(label="Attach files")


SCORES = [(5, "5 (excellent)"), (4, "4 (good)"), (3, "3 (okay)"), (2, "2 (poor)"), (1, "1 (very poor)")]


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label="How did we do?", choices=SCORES, coerce=int, widget=forms.RadioSelect,
        error_messages={"required": "Please choose a rating from 1 to 5."},
    )  # fmt: skip
    comment = forms.CharField(
        label="Comment", max_length=MAX_RATING_COMMENT, required=False, widget=forms.Textarea
    )


class PreferencesForm(forms.Form):
    preferred_contact = forms.ChoiceField(
        label="How should we contact you?",
        choices=[(ContactChannel.EMAIL.value, "Email"), (ContactChannel.PHONE.value, "Phone call-back")],
        widget=forms.RadioSelect,
    )
    callback_phone = forms.CharField(label="Phone number for call-backs", max_length=32, required=False)
    personal_contact = forms.ChoiceField(
        label="How much personal contact do you want?",
        choices=PersonalContact.choices,
        widget=forms.RadioSelect,
    )
