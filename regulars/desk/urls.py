"""The agent desk, mounted at /desk/. Each view module owns its own URL list."""

from __future__ import annotations

from regulars.desk.views import alerts, customers, queues, tickets

app_name = "desk"
urlpatterns = [*queues.urlpatterns, *tickets.urlpatterns, *customers.urlpatterns, *alerts.urlpatterns]
