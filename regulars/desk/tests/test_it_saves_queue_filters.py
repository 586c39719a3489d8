"""Saved queue filters: made from the current filters, listed in the sidebar, shared or not."""

from __future__ import annotations

import pytest

from regulars.core.testing import Cast
from regulars.desk.models import SavedFilter
from regulars.desk.tests.queue_data import numbers_on, signed_in, ticket

pytestmark = pytest.mark.django_db


def test_it_saves_the_current_filters_and_shows_them_again(cast: Cast) -> None:
    urgent = ticket(cast, "Site down", team=cast.support, priority="urgent")
    ticket(cast, "Calm", team=cast.support)
    bob = signed_in(cast.bob)
    page = bob.get("/desk/queues/teams/", {"priority": "urgent", "sort": "oldest"})
    assert page.context["save_form"]["query"].value() == "priority=urgent&sort=oldest"
    response = bob.post(
        "/desk/filters/", {"name": "Fires", "queue": "teams", "query": "priority=urgent&sort=oldest&evil=1"}
    )
    saved = SavedFilter.objects.get(owner=cast.bob)
    assert (saved.name, saved.query, saved.shared) == (
        "Fires",
        "queue=teams&priority=urgent&sort=oldest",
        False,
    )
    assert response["Location"] == "/desk/queues/teams/?priority=urgent&sort=oldest"
    listed = bob.get(response["Location"])
    assert numbers_on(listed) == [urgent.number]
    assert b'aria-current="page">Fires</a>' in listed.content


def test_it_lists_a_shared_filter_for_others_but_keeps_a_private_one_private(cast: Cast) -> None:
    bob = signed_in(cast.bob)
    bob.post(
        "/desk/filters/",
        {"name": "Team urgent", "queue": "teams", "query": "priority=urgent", "shared": "on"},
    )
    bob.post("/desk/filters/", {"name": "Bob only", "queue": "mine", "query": ""})
    page = signed_in(cast.dave).get("/desk/")
    assert b"Team urgent" in page.content
    assert b"Bob only" not in page.content
    assert b"by Bob Agent" in page.content


def test_it_limits_a_shared_filter_to_what_each_viewer_may_see(cast: Cast) -> None:
    support = ticket(cast, "Support urgent", team=cast.support, priority="urgent")
    billing = ticket(cast, "Billing urgent", team=cast.billing, priority="urgent")
    signed_in(cast.bob).post(
        "/desk/filters/", {"name": "All urgent", "queue": "all", "query": "priority=urgent", "shared": "on"}
    )
    assert numbers_on(signed_in(cast.bob).get("/desk/queues/all/?priority=urgent")) == [
        billing.number, support.number,
    ]  # fmt: skip
    assert numbers_on(signed_in(cast.dave).get("/desk/queues/all/?priority=urgent")) == [billing.number]


def test_it_refuses_a_second_filter_with_the_same_name(cast: Cast) -> None:
    bob = signed_in(cast.bob)
    bob.post("/desk/filters/", {"name": "Mine", "queue": "mine", "query": ""})
    response = bob.post("/desk/filters/", {"name": "Mine", "queue": "all", "query": ""}, follow=True)
    assert b"already have a filter named" in response.content
    assert SavedFilter.objects.filter(owner=cast.bob).count() == 1


def test_it_lets_the_owner_delete_their_filter(cast: Cast) -> None:
    bob = signed_in(cast.bob)
    bob.post("/desk/filters/", {"name": "Old", "queue": "all", "query": ""})
    saved = SavedFilter.objects.get(owner=cast.bob)
    response = bob.post(f"/desk/filters/{saved.pk}/delete/")
    assert response.status_code == 302
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()


def test_it_lets_nobody_else_delete_a_shared_filter(cast: Cast) -> None:
    signed_in(cast.bob).post(
        "/desk/filters/", {"name": "Shared", "queue": "all", "query": "", "shared": "on"}
    )
    saved = SavedFilter.objects.get(owner=cast.bob)
    assert signed_in(cast.dave).post(f"/desk/filters/{saved.pk}/delete/").status_code == 403
    assert SavedFilter.objects.filter(pk=saved.pk).exists()


def test_it_does_not_reveal_anothers_private_filter(cast: Cast) -> None:
    signed_in(cast.bob).post("/desk/filters/", {"name": "Private", "queue": "all", "query": ""})
    saved = SavedFilter.objects.get(owner=cast.bob)
    assert signed_in(cast.dave).post(f"/desk/filters/{saved.pk}/delete/").status_code == 404


def test_it_asks_for_a_name(cast: Cast) -> None:
    response = signed_in(cast.bob).post(
        "/desk/filters/", {"name": "", "queue": "all", "query": ""}, follow=True
    )
    assert b"Give the filter a name" in response.content
    assert not SavedFilter.objects.exists()
