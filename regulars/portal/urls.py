"""The customer portal, mounted at /portal/."""

from __future__ import annotations

from regulars.portal.views import pages

app_name = "portal"
urlpatterns = [*pages.urlpatterns]
