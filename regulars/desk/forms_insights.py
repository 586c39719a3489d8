"""Forms of the workspace's Insights panel. They only parse input; the rules live in
insights.services and insights.misdirected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.db.models import QuerySet

from regulars.desk.forms_tickets import DeskForm
from regulars.insights.models import Category, SisterBrand


class CategoryForm(DeskForm):
    """Choose (or confirm) what a ticket is about, among the categories the caller passes in:
    the active ones, read through ``insights.selectors.categories_for``."""

    category = forms.ModelChoiceField(
        Category.objects.none(), to_field_name="public_id", empty_label=None, label="Set the category"
    )

    def __init__(self, *args: Any, categories: QuerySet[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._field().queryset = categories

    def _field(self) -> forms.ModelChoiceField[Category]:
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        return field

    def show(self, categories: Sequence[Category]) -> None:
        """Render these categories, already read: rendering a required select from a queryset
        reads it twice (once to decide on the ``required`` attribute)."""
        self._field().choices = [(c.public_id, c.name) for c in categories]


class NotForUsForm(DeskForm):
    """Say a ticket is not for us: optionally the sister brand it was meant for (the active ones,
    read through ``insights.selectors.brands_for``), and whether to send the polite reply."""

    brand = forms.ModelChoiceField(
        SisterBrand.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label="No sister brand (the generic reply)",
        label="Meant for",
    )
    # Not "reply to the customer": that is the reply composer's label, which people (and the
    # browser tests) find the composer by.
    reply = forms.BooleanField(required=False, initial=True, label="Send the customer the polite reply")

    def __init__(self, *args: Any, brands: QuerySet[SisterBrand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["brand"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = brands
