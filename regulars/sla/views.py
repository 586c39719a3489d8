"""The public page of each support plan: what it promises, in plain words."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from regulars.core.errors import NotFound
from regulars.sla.selectors import get_plan, plan_promises


def plan_page(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        plan = get_plan(slug)
    except NotFound:
        raise Http404("No such plan.") from None
    return render(request, "sla/plan.html", plan_promises(plan))
