from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from regulars.accounts.views import sign_out_everywhere_view
from regulars.portal.views.home import home

# The Django admin signs in through the same page (and the same two-factor step) as the desk.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/sign-out-everywhere/", sign_out_everywhere_view, name="sign_out_everywhere"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("regulars.api.urls")),
    path("ack/", include("regulars.sla.oncall.urls")),
    path("desk/", include("regulars.desk.urls")),
    path("portal/", include("regulars.portal.urls")),
    path("", include("regulars.sla.urls")),
    path("", include("regulars.tickets.urls")),
]
