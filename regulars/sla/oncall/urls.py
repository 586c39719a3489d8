"""Mounted at ``ack/`` by config/urls.py."""

from __future__ import annotations

from django.urls import path

from regulars.sla.oncall import views

app_name = "sla_oncall"
urlpatterns = [path("<str:token>/", views.acknowledge, name="ack")]
