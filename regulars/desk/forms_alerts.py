"""Forms of the desk's emerging-issues pages. They only parse input; the rules (who may
subscribe, what a key needs, who may open a problem ticket) live in insights.services."""

from __future__ import annotations

from django import forms

from regulars.desk.forms_tickets import DeskForm
from regulars.insights.models import TrendDimension

STATES = [
    ("all", "Open, then closed"),
    ("open", "Open (still elevated)"),
    ("closed", "Closed (back to normal)"),
]


class AlertFilterForm(DeskForm):
    state = forms.ChoiceField(choices=STATES, required=False, label="Show")

    def state_value(self) -> str:
        """The chosen state, ``all`` when none or an unknown one was given."""
        if self.is_valid():
            return self.cleaned_data["state"] or "all"
        return "all"


class SubscribeForm(DeskForm):
    dimension = forms.ChoiceField(
        choices=[("", "Every alert"), *TrendDimension.choices], required=False, label="Tell me about"
    )
    key = forms.CharField(
        max_length=100,
        required=False,
        label="Only this one (optional)",
        help_text="A category, keyword or channel, e.g. payment fail. Needs a kind above.",
    )


class ProblemForm(DeskForm):
    subject = forms.CharField(
        max_length=250,
        required=False,
        label="Subject (optional)",
        help_text="Left empty: “Problem:” and the alert's label.",
    )
