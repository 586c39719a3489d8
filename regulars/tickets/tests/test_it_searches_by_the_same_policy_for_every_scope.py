"""Search returns exactly the matching tickets the policy lets each person see; those who see
every ticket skip the key check, not the policy."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from regulars.accounts.models import TicketScope
from regulars.core.testing import Cast
from regulars.tickets.selectors import search_tickets, sees_every_ticket, visible_tickets
from regulars.tickets.services import open_ticket


def test_it_finds_for_each_person_the_matching_tickets_they_may_see(cast: Cast) -> None:
    support = open_ticket(subject="Echidna in the router", body="b", requester=cast.carol, team=cast.support)
    billing = open_ticket(subject="Echidna on the invoice", body="b", requester=cast.erin, team=cast.billing)
    everyone = {support.number, billing.number}
    for viewer, expected in [
        (cast.alice, everyone),
        (cast.bob, everyone),
        (cast.dave, {billing.number}),
        (cast.carol_user, {support.number}),
        (cast.erin_user, {billing.number}),
    ]:
        found = {t.number for t in search_tickets(viewer, "echidna")}
        assert found == expected, viewer.email
        assert found == {t.number for t in visible_tickets(viewer).filter(number__in=everyone)}


def test_it_says_who_sees_every_ticket(cast: Cast) -> None:
    assert sees_every_ticket(cast.alice)
    assert sees_every_ticket(cast.bob)
    assert not sees_every_ticket(cast.dave)
    assert not sees_every_ticket(cast.carol_user)
    cast.alice.is_active = False
    assert not sees_every_ticket(cast.alice)
    cast.bob.ticket_scope = TicketScope.TEAMS
    assert not sees_every_ticket(cast.bob)


def test_it_checks_keys_only_for_people_with_a_narrower_view(cast: Cast) -> None:
    open_ticket(subject="Echidna in the router", body="b", requester=cast.carol, team=cast.billing)
    counts: dict[str, int] = {}
    for viewer in (cast.alice, cast.dave):
        with CaptureQueriesContext(connection) as queries:
            assert len(search_tickets(viewer, "echidna")) == 1
        counts[viewer.email] = len(queries.captured_queries)
    assert counts[cast.dave.email] == counts[cast.alice.email] + 1
