"""Forms of the customer and organisation pages. The rules live in customers.services."""

from __future__ import annotations

from django import forms

from regulars.desk.forms_tickets import DeskForm


class NotesForm(DeskForm):
    notes = forms.CharField(label="Needs and notes", required=False, max_length=20_000, widget=forms.Textarea)


class BlockForm(DeskForm):
    reason = forms.CharField(
        label="Reason for blocking", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required. Their messages are still kept, flagged, but never answered.",
    )  # fmt: skip


class UnblockForm(DeskForm):
    reason = forms.CharField(
        label="Reason for unblocking", max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class MergeCustomerForm(DeskForm):
    other = forms.CharField(
        label="Customer to merge into this one", max_length=320,
        help_text="Their email address or customer id (cus_…).",
    )  # fmt: skip
    confirm = forms.BooleanField(required=False)
