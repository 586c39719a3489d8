"""Similar tickets: possible duplicates among open recent tickets, and solved tickets whose
answers may help.

Cheap at any size because the candidate set is bounded: a few full-text searches (the words
of the ticket's subject and first message, together and one by one) each return at most
``PER_QUERY`` tickets, found among the newest matches by ``core.search``. The candidates the
viewer may see (tickets' one permission policy) are ranked by TF-IDF cosine similarity over
their subject and first customer message, using the same normalised keyword keys as emerging
issues (stemmed words and word pairs), fitted on the candidates alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Min, Q
from django.db.models.functions import Substr
from django.utils import timezone

from regulars.accounts.models import User
from regulars.core.errors import Forbidden
from regulars.core.search import search
from regulars.insights.keywords import content_words, keyword_keys
from regulars.tickets.models import UNSOLVED_CATEGORIES, Message, Ticket
from regulars.tickets.selectors import get_ticket, visible_tickets

PER_QUERY = 100
MAX_QUERY_WORDS = 5
MAX_CANDIDATES = 400
MAX_TEXT = 2000
RECENT_DAYS = 30
MIN_SCORE = 0.1
ANSWER_EXCERPT = 500
DEFAULT_LIMIT = 5


@dataclass(frozen=True)
class SimilarTicket:
    number: int
    subject: str
    status_category: str
    created_at: dt.datetime
    score: float
    answer: str | None = None


@dataclass
class Similar:
    number: int
    open: list[SimilarTicket] = field(default_factory=list)
    solved: list[SimilarTicket] = field(default_factory=list)


def _first_messages(ticket_ids: list[int]) -> dict[int, str]:
    first = (
        Ticket.objects.filter(pk__in=ticket_ids)
        .annotate(
            first_id=Min(
                "messages__id",
                filter=Q(
                    messages__kind=Message.Kind.REPLY, messages__author_type=Message.AuthorType.CUSTOMER
                ),
            )
        )
        .values_list("first_id", flat=True)
    )
    rows = (
        Message.objects.filter(pk__in=[i for i in first if i is not None])
        .annotate(head=Substr("body_text", 1, MAX_TEXT))
        .values_list("ticket_id", "head")
    )
    return dict(rows)


def _answers(ticket_ids: list[int]) -> dict[int, str]:
    """The last public agent reply of each ticket: what the customer was told."""
    last = (
        Message.objects.filter(
            ticket_id__in=ticket_ids, kind=Message.Kind.REPLY, author_type=Message.AuthorType.AGENT
        )
        .values("ticket_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    rows = (
        Message.objects.filter(pk__in=list(last))
        .annotate(head=Substr("body_text", 1, ANSWER_EXCERPT))
        .values_list("ticket_id", "head")
    )
    return dict(rows)


def _queries(text: str, subject: str) -> list[str]:
    subject_words = set(content_words(subject))
    words = list(dict.fromkeys(content_words(text)))
    # Subject words first, then the longer (usually rarer) words of the message.
    words.sort(key=lambda w: (w not in subject_words, -len(w)))
    chosen = words[:MAX_QUERY_WORDS]
    queries = [" ".join(chosen[:3])] if len(chosen) >= 2 else []
    return queries + chosen


def _candidates(text: str, subject: str, exclude: int) -> list[int]:
    ordered: dict[int, None] = {}
    for q in _queries(text, subject):
        for hit in search(q, kinds=["ticket", "message"], limit=PER_QUERY, enough=PER_QUERY):
            if hit.ticket_id is not None and hit.ticket_id != exclude:
                ordered.setdefault(hit.ticket_id, None)
        if len(ordered) >= MAX_CANDIDATES:
            break
    return list(ordered)[:MAX_CANDIDATES]


def _scores(target: str, docs: list[str]) -> list[float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    vectorizer = TfidfVectorizer(analyzer=lambda t: keyword_keys(t, limit=400), sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([target, *docs])
    except ValueError:  # no keyword anywhere (empty vocabulary)
        return [0.0] * len(docs)
    return [float(x) for x in linear_kernel(matrix[0:1], matrix[1:])[0]]


def similar_tickets(
    viewer: User, number: int, *, limit: int = DEFAULT_LIMIT, now: dt.datetime | None = None
) -> Similar:
    """For agents who may see ticket ``number``: the most similar open tickets opened in the
    last ``RECENT_DAYS`` days and the most similar solved tickets with their last answer, best
    first, only among tickets ``viewer`` may see."""
    if not (viewer.is_active and viewer.is_agent):
        raise Forbidden("Only agents may see this.", code="agents_only")
    ticket = get_ticket(viewer, number)
    first = _first_messages([ticket.pk]).get(ticket.pk, "")
    text = f"{ticket.subject}\n{first}"
    result = Similar(number=ticket.number)
    ids = _candidates(text, ticket.subject, ticket.pk)
    if not ids:
        return result
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in visible_tickets(viewer)
        .filter(pk__in=ids, merged_into__isnull=True)
        .values("pk", "number", "subject", "status_category", "created_at")
    ]
    if not rows:
        return result
    bodies = _first_messages([r["pk"] for r in rows])
    scores = _scores(text, [f"{r['subject']}\n{bodies.get(r['pk'], '')}" for r in rows])
    recent = (now or timezone.now()) - dt.timedelta(days=RECENT_DAYS)
    ranked = sorted(zip(scores, rows, strict=True), key=lambda p: (-p[0], -p[1]["pk"]))
    open_rows: list[tuple[float, dict[str, Any]]] = []
    solved_rows: list[tuple[float, dict[str, Any]]] = []
    for score, row in ranked:
        if score < MIN_SCORE:
            break
        unsolved = row["status_category"] in UNSOLVED_CATEGORIES
        if unsolved and row["created_at"] >= recent and len(open_rows) < limit:
            open_rows.append((score, row))
        elif not unsolved and len(solved_rows) < limit:
            solved_rows.append((score, row))
    answers = _answers([r["pk"] for _, r in solved_rows]) if solved_rows else {}

    def out(score: float, row: dict[str, Any], answer: str | None = None) -> SimilarTicket:
        return SimilarTicket(
            row["number"], row["subject"], row["status_category"], row["created_at"], round(score, 4), answer
        )

    result.open = [out(s, r) for s, r in open_rows]
    result.solved = [out(s, r, answers.get(r["pk"])) for s, r in solved_rows]
    return result
