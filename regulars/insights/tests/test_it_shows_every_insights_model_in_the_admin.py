"""Every model of the insight engine has a read-only admin page (writes go through services)."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin

from regulars.core.admin import ReadOnlyAdmin


def test_it_registers_every_insights_model_read_only():
    models = apps.get_app_config("insights").get_models()
    for model in models:
        assert model in admin.site._registry, model
        assert isinstance(admin.site._registry[model], ReadOnlyAdmin), model
