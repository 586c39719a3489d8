from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("regulars.api.urls")),
    path("ack/", include("regulars.sla.oncall.urls")),
    path("", include("regulars.sla.urls")),
    path("", include("regulars.tickets.urls")),
]
