"""Desk views: customers and organisations.

Reads go through ``customers.selectors`` and ``tickets.selectors`` (a customer's tickets are
only those the agent may see); writes through ``customers.services``, which audit them. Light
agents may look but not change customers: like tickets, they only add notes.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from regulars.accounts.models import User
from regulars.core.errors import DomainError, NotFound
from regulars.customers import services
from regulars.customers.models import Customer, Identity, Organisation
from regulars.customers.selectors import (
    get_customer,
    get_organisation,
    search_customers,
    visible_customers,
    visible_organisations,
)
from regulars.desk.access import agent, agent_required
from regulars.desk.forms_customers import BlockForm, MergeCustomerForm, NotesForm, UnblockForm
from regulars.desk.selectors_tickets import (
    customer_panel,
    customer_tickets,
    is_full_agent,
    organisation_tickets,
)

PAGE_SIZE = 25
SEARCH_LIMIT = 50


def _page(request: HttpRequest, qs: QuerySet[Any], param: str = "page", size: int = PAGE_SIZE) -> Page[Any]:
    return Paginator(qs, size).get_page(request.GET.get(param))


def _with_identities(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.prefetch_related(
        Prefetch("identities", queryset=Identity.objects.order_by("kind", "-is_primary", "value"))
    )


def _customer_or_404(viewer: User, public_id: str) -> Customer:
    try:
        return get_customer(viewer, public_id[:40])
    except NotFound:
        raise Http404("No such customer.") from None


def _require_full_agent(viewer: User) -> None:
    if not is_full_agent(viewer):
        raise PermissionDenied("Light agents cannot change customers.")


def _profile_url(customer: Customer) -> str:
    return reverse("desk:customer", args=[customer.public_id])


# --- customers ----------------------------------------------------------------------------------


@require_GET
@agent_required
def customer_list(request: HttpRequest) -> HttpResponse:
    viewer = agent(request)
    q = request.GET.get("q", "").strip()[:200]
    if q:
        found = search_customers(viewer, q, limit=SEARCH_LIMIT)
        # Identities for the whole result in one query, whatever its size.
        customers: Any = list(
            _with_identities(visible_customers(viewer).filter(pk__in=[c.pk for c in found]))
        )
        order = {c.pk: i for i, c in enumerate(found)}
        customers.sort(key=lambda c: order[c.pk])
        page = None
    else:
        page = _page(
            request,
            _with_identities(visible_customers(viewer).filter(merged_into__isnull=True)).order_by("-id"),
        )
        customers = page.object_list
    return render(
        request,
        "desk/customers.html",
        {"section": "customers", "q": q, "customers": customers, "page": page},
    )


@require_GET
@agent_required
def customer_view(request: HttpRequest, public_id: str) -> HttpResponse:
    viewer = agent(request)
    customer = _customer_or_404(viewer, public_id)
    if customer.merged_into_id is not None:
        survivor = visible_customers(viewer).filter(pk=customer.merged_into_id).first()
        if survivor is None:
            raise Http404("No such customer.")
        messages.info(request, f"{customer} was merged into this customer.")
        return HttpResponseRedirect(_profile_url(survivor))
    panel = customer_panel(viewer, customer.pk)
    return render(
        request,
        "desk/customer.html",
        {
            "section": "customers",
            "panel": panel,
            "customer": panel.customer,
            "tickets": _page(request, customer_tickets(viewer, customer)),
            "can_edit_customer": is_full_agent(viewer),
            "merge_form": MergeCustomerForm(),
            "block_form": BlockForm(),
            "unblock_form": UnblockForm(),
        },
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return fallback


@require_POST
@agent_required
def customer_notes(request: HttpRequest, public_id: str) -> HttpResponse:
    viewer = agent(request)
    customer = _customer_or_404(viewer, public_id)
    _require_full_agent(viewer)
    form = NotesForm(request.POST)
    notice, error = "", ""
    if form.is_valid():
        try:
            customer = services.update_customer(customer, actor=viewer, notes=form.cleaned_data["notes"])
            notice = "Notes saved."
        except DomainError as exc:
            error = exc.message
    else:
        error = "Notes are at most 20,000 characters."
    next_url = _safe_next(request, _profile_url(customer))
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request,
            "desk/partials/customer_notes.html",
            {
                "customer": customer,
                "can_edit_customer": True,
                "notes_notice": notice,
                "notes_error": error,
                "notes_next": next_url,
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return HttpResponseRedirect(next_url)


def _find_other(viewer: User, value: str) -> Customer | None:
    value = value.strip()
    qs = visible_customers(viewer).filter(merged_into__isnull=True)
    if value.startswith("cus_"):
        return qs.filter(public_id=value).first()
    return qs.filter(identities__kind=Identity.Kind.EMAIL, identities__value=value.lower()).first()


@require_POST
@agent_required
def customer_merge(request: HttpRequest, public_id: str) -> HttpResponse:
    """Fold another customer into this one. The first post shows both for confirmation; the
    second (with ``confirm``) merges."""
    viewer = agent(request)
    customer = _customer_or_404(viewer, public_id)
    _require_full_agent(viewer)
    form = MergeCustomerForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the other customer's email address or customer id.")
        return HttpResponseRedirect(_profile_url(customer) + "#merge")
    other = _find_other(viewer, form.cleaned_data["other"])
    if other is None:
        messages.error(request, f"No customer matches {form.cleaned_data['other']!r}.")
        return HttpResponseRedirect(_profile_url(customer) + "#merge")
    if other.pk == customer.pk:
        messages.error(request, "That is this customer; choose another one.")
        return HttpResponseRedirect(_profile_url(customer) + "#merge")
    if not form.cleaned_data["confirm"]:
        panels = [customer_panel(viewer, c.pk) for c in (other, customer)]
        return render(
            request,
            "desk/customer_merge.html",
            {"section": "customers", "customer": customer, "other": other, "panels": panels},
        )
    try:
        services.merge_customers(other, customer, actor=viewer)
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(_profile_url(customer) + "#merge")
    messages.success(
        request, f"{other} was merged into {customer}: their identities and tickets are here now."
    )
    return HttpResponseRedirect(_profile_url(customer))


def _change_block(request: HttpRequest, public_id: str, *, block: bool) -> HttpResponse:
    viewer = agent(request)
    customer = _customer_or_404(viewer, public_id)
    _require_full_agent(viewer)
    form = (BlockForm if block else UnblockForm)(request.POST)
    if not form.is_valid():
        messages.error(request, f"Say why the customer is {'blocked' if block else 'unblocked'}.")
        return HttpResponseRedirect(_profile_url(customer) + "#block")
    try:
        if block:
            services.block_customer(customer, reason=form.cleaned_data["reason"], actor=viewer)
            messages.success(
                request, f"{customer} is blocked. Their messages are kept and flagged, never answered."
            )
        else:
            services.unblock_customer(customer, reason=form.cleaned_data["reason"], actor=viewer)
            messages.success(request, f"{customer} is no longer blocked.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(_profile_url(customer))


@require_POST
@agent_required
def customer_block(request: HttpRequest, public_id: str) -> HttpResponse:
    return _change_block(request, public_id, block=True)


@require_POST
@agent_required
def customer_unblock(request: HttpRequest, public_id: str) -> HttpResponse:
    return _change_block(request, public_id, block=False)


# --- organisations ------------------------------------------------------------------------------


@require_GET
@agent_required
def organisation_list(request: HttpRequest) -> HttpResponse:
    viewer = agent(request)
    q = request.GET.get("q", "").strip()[:200]
    qs = visible_organisations(viewer).annotate(
        members=Count("customers", filter=Q(customers__merged_into__isnull=True))
    )
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(domain__icontains=q))
    return render(
        request,
        "desk/organisations.html",
        {"section": "organisations", "q": q, "page": _page(request, qs.order_by("name", "id"))},
    )


@require_GET
@agent_required
def organisation_view(request: HttpRequest, public_id: str) -> HttpResponse:
    viewer = agent(request)
    try:
        org: Organisation = get_organisation(viewer, public_id[:40])
    except NotFound:
        raise Http404("No such organisation.") from None
    members = _with_identities(
        visible_customers(viewer).filter(organisation=org, merged_into__isnull=True).order_by("name", "id")
    )
    return render(
        request,
        "desk/organisation.html",
        {
            "section": "organisations",
            "organisation": org,
            "members": _page(request, members, "members", 50),
            "tickets": _page(request, organisation_tickets(viewer, org)),
        },
    )


urlpatterns: list[URLPattern] = [
    path("customers/", customer_list, name="customers"),
    path("customers/<str:public_id>/", customer_view, name="customer"),
    path("customers/<str:public_id>/notes/", customer_notes, name="customer_notes"),
    path("customers/<str:public_id>/merge/", customer_merge, name="customer_merge"),
    path("customers/<str:public_id>/block/", customer_block, name="customer_block"),
    path("customers/<str:public_id>/unblock/", customer_unblock, name="customer_unblock"),
    path("organisations/", organisation_list, name="organisations"),
    path("organisations/<str:public_id>/", organisation_view, name="organisation"),
]
