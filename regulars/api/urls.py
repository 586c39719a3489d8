"""Mounted at ``api/v1/`` by config/urls.py; the namespace is the API's own (``api-v1``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from regulars.api.api import api

app_name = api.urls_namespace
urlpatterns: list[URLPattern | URLResolver] = list(api.urls[0])
