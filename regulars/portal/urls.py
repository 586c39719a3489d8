"""The customer portal, mounted at /portal/."""

from __future__ import annotations

from regulars.portal.views import pages, requests, sign_in

app_name = "portal"
urlpatterns = [*pages.urlpatterns, *requests.urlpatterns, *sign_in.urlpatterns]
