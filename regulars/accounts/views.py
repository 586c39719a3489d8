"""Account pages that allauth does not provide."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from regulars.accounts.services import sign_out_everywhere


@login_required
@require_http_methods(["GET", "POST"])
def sign_out_everywhere_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        sign_out_everywhere(request.user)  # type: ignore[arg-type]
        logout(request)
        return redirect("account_login")
    return render(request, "accounts/sign_out_everywhere.html")
