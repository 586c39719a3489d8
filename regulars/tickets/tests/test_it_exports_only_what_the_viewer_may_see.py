from __future__ import annotations

import csv
import io

import pytest

from regulars.core.errors import Forbidden
from regulars.core.testing import Cast
from regulars.tickets.exports import EXPORT_COLUMNS, write_tickets_csv
from regulars.tickets.services import open_ticket


def exported(viewer) -> list[dict[str, str]]:
    out = io.StringIO()
    write_tickets_csv(viewer, out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_it_exports_every_visible_ticket_with_all_columns(cast: Cast) -> None:
    a = open_ticket(subject="First", body="b", requester=cast.carol, tags=["vip", "billing"])
    b = open_ticket(subject="Second", body="b", requester=cast.erin, team=cast.billing)
    rows = exported(cast.alice)
    assert [r["number"] for r in rows] == [str(a.number), str(b.number)]
    assert list(rows[0]) == EXPORT_COLUMNS
    assert rows[0]["tags"] == "billing vip"


def test_it_applies_the_same_policy_as_every_other_read(cast: Cast) -> None:
    open_ticket(subject="Support's", body="b", requester=cast.carol, team=cast.support)
    billing = open_ticket(subject="Billing's", body="b", requester=cast.erin, team=cast.billing)
    assert [r["number"] for r in exported(cast.dave)] == [str(billing.number)]
    with pytest.raises(Forbidden):
        exported(cast.carol_user)


def test_it_defuses_spreadsheet_formulas(cast: Cast) -> None:
    open_ticket(subject='=HYPERLINK("http://evil")', body="b", requester=cast.carol)
    assert exported(cast.alice)[0]["subject"].startswith("'=")
