"""Public pages of the SLA context; mounted at the site root by config/urls.py."""

from __future__ import annotations

from django.urls import path

from regulars.sla.views import plan_page

app_name = "sla"
urlpatterns = [path("plans/<slug:slug>/", plan_page, name="plan")]
