"""Writes of the insight engine: categories, training, triage of new tickets, corrections, mood.

Triage and sentiment run as background event handlers (see apps.py): a new ticket gets a
category, a confidence and the runners-up; above ``TriageSettings.route_threshold`` the
decision to route to the category's team is recorded, below it the ticket waits in the triage
queue; a message that fits no category well goes to the misdirected queue with a guess of the
sister brand it was meant for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from regulars.accounts.models import Role, Team, User
from regulars.accounts.services import record_audit
from regulars.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from regulars.customers.models import Customer
from regulars.customers.services import create_customer, find_customer_by_identity
from regulars.insights import signals
from regulars.insights.backends import (
    OUT_OF_SCOPE,
    Backend,
    dumps,
    loads,
    make_backend,
    rank,
    validation_split,
)
from regulars.insights.emerging import record_trends
from regulars.insights.keywords import keyword_keys
from regulars.insights.models import (
    AlertMessage,
    AlertSubscription,
    Category,
    EmergingAlert,
    MessageInsight,
    SisterBrand,
    TicketTriage,
    TrendDimension,
    TriageModel,
    TriageSettings,
)
from regulars.sla.priority.services import assess_ticket
from regulars.tickets.models import (
    UNSOLVED_CATEGORIES,
    Message,
    Priority,
    StatusCategory,
    Ticket,
    TicketType,
)
from regulars.tickets.selectors import visible_tickets
from regulars.tickets.services import link_to_problem, open_ticket, route_ticket

logger = logging.getLogger(__name__)

SIGNING_SALT = "regulars.insights.artefact"
HELD_OUT_FRACTION = 0.2
MIN_EXAMPLES = 10
# The share of correctly classified held-out requests allowed to fall below the in-scope
# threshold when a model chooses it on real traffic (which has no labelled out-of-scope examples).
IN_SCOPE_FALSE_ALARM_RATE = 0.05
# ...but never above this: a model that is sure of every held-out example (few, tidy categories)
# would otherwise put the cut at 1.0 and send any message it is merely very sure of to the
# misdirected queue.
IN_SCOPE_THRESHOLD_CAP = 0.9
_URL = re.compile(r"^https?://[^\s<>\"]+$")


def get_settings() -> TriageSettings:
    found, _ = TriageSettings.objects.get_or_create(pk=1)
    return found


def _require_admin(actor: User) -> None:
    if not (actor.is_active and actor.role == Role.ADMIN):
        raise Forbidden("Only admins may do this.", code="admins_only")


def _require_full_agent(actor: User) -> None:
    if not (actor.is_active and actor.role in (Role.ADMIN, Role.AGENT)):
        raise Forbidden("Only agents may do this.", code="agents_only")


# --- settings and categories -------------------------------------------------------------------


@transaction.atomic
def update_settings(
    *, actor: User, route_threshold: float | None = None, in_scope_threshold: float | None = None
) -> TriageSettings:
    _require_admin(actor)
    found = TriageSettings.objects.select_for_update().get(pk=get_settings().pk)
    for name, value in (("route_threshold", route_threshold), ("in_scope_threshold", in_scope_threshold)):
        if value is None:
            continue
        if not 0.0 <= value <= 1.0:
            raise ValidationFailed("A threshold is between 0 and 1.", fields={name: "out of range"})
        setattr(found, name, value)
    found.save(update_fields=["route_threshold", "in_scope_threshold"])
    record_audit(actor, "insights.settings_changed", "triage_settings", "1",
                 route_threshold=found.route_threshold, in_scope_threshold=found.in_scope_threshold)  # fmt: skip
    return found


MAX_ARTICLES = 10


def check_articles(articles: Any) -> list[dict[str, str]]:
    """A category's knowledge articles as stored: at most ten {"title", "url"} with an http(s) URL."""
    if not isinstance(articles, list) or len(articles) > MAX_ARTICLES:
        raise ValidationFailed(
            f"Articles are a list of at most {MAX_ARTICLES} entries.", fields={"articles": "invalid"}
        )
    checked = []
    for index, entry in enumerate(articles):
        title = str(entry.get("title", "")).strip() if isinstance(entry, dict) else ""
        url = str(entry.get("url", "")).strip() if isinstance(entry, dict) else ""
        if not title or len(title) > 200 or "\x00" in title:
            raise ValidationFailed("An article needs a title of at most 200 characters.",
                                   fields={f"articles[{index}].title": "invalid"})  # fmt: skip
        if not _URL.match(url) or len(url) > 500:
            raise ValidationFailed("An article's URL starts with http:// or https://.",
                                   fields={f"articles[{index}].url": "invalid"})  # fmt: skip
        checked.append({"title": title, "url": url})
    return checked


def _check_category_name(name: str, *, other_than: int | None = None) -> str:
    name = name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise ValidationFailed(
            "A category needs a name of at most 100 characters.", fields={"name": "invalid"}
        )
    clash = Category.objects.filter(name__iexact=name)
    if other_than is not None:
        clash = clash.exclude(pk=other_than)
    if clash.exists():
        raise Conflict(f"There is already a category called {name}.", code="category_exists")
    return name


@transaction.atomic
def create_category(
    *,
    actor: User,
    name: str,
    team: Team | None = None,
    default_priority: str = Priority.NORMAL,
    description: str = "",
    articles: Sequence[dict[str, str]] = (),
) -> Category:
    _require_admin(actor)
    name = _check_category_name(name)
    if default_priority not in Priority.values:
        raise ValidationFailed("Unknown priority.", fields={"default_priority": "invalid"})
    category = Category.objects.create(
        name=name,
        team=team,
        default_priority=default_priority,
        description=description,
        articles=check_articles(list(articles)),
    )
    record_audit(actor, "insights.category_created", "category", category.public_id, name=name)
    return category


_CATEGORY_FIELDS = ("name", "description", "team", "default_priority", "articles", "active")


@transaction.atomic
def update_category(*, actor: User, category: Category, **changes: Any) -> Category:
    """Change what admins set on a category. A renamed category keeps its tickets and training
    data (labels are read from the row at training time)."""
    _require_admin(actor)
    unknown = set(changes) - set(_CATEGORY_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown field.", fields={name: "unknown" for name in sorted(unknown)})
    category = Category.objects.select_for_update().get(pk=category.pk)
    if "name" in changes:
        changes["name"] = _check_category_name(str(changes["name"]), other_than=category.pk)
    if "default_priority" in changes and changes["default_priority"] not in Priority.values:
        raise ValidationFailed("Unknown priority.", fields={"default_priority": "invalid"})
    if "articles" in changes:
        changes["articles"] = check_articles(changes["articles"])
    old = {name: _plain(getattr(category, name)) for name in changes}
    for name, value in changes.items():
        setattr(category, name, value)
    category.save()
    new = {name: _plain(getattr(category, name)) for name in changes}
    record_audit(actor, "insights.category_changed", "category", category.public_id, old=old, new=new)
    return category


def _plain(value: Any) -> Any:
    return value.name if isinstance(value, Team) else value


# --- model artefacts ---------------------------------------------------------------------------


def sign(data: bytes) -> str:
    return salted_hmac(SIGNING_SALT, data, algorithm="sha256").hexdigest()


_loaded: dict[tuple[int, str], Backend] = {}


def load_model(row: TriageModel) -> Backend:
    """The backend stored in ``row``, unpickled only if this install signed it."""
    key = (row.pk, row.signature)
    if key in _loaded:
        return _loaded[key]
    # The artefact (tens of MB with a tuned encoder) is read only when it is not loaded yet.
    stored = row.artefact if "artefact" in row.__dict__ else None
    if stored is None:
        stored = TriageModel.objects.filter(pk=row.pk).values_list("artefact", flat=True).first()
    data = bytes(stored or b"")
    if not data or not row.signature or not hmac.compare_digest(sign(data), row.signature):
        raise Conflict("The model's artefact is not one this install wrote; retrain it.", code="bad_artefact")
    backend = loads(data)
    _loaded.clear()  # one model at a time in memory: the active one
    _loaded[key] = backend
    return backend


def active_model() -> tuple[TriageModel, Backend] | None:
    row = TriageModel.objects.filter(state=TriageModel.State.ACTIVE).defer("artefact").first()
    if row is None:
        return None
    try:
        return row, load_model(row)
    except Conflict:
        logger.exception("active triage model %s cannot be loaded", row.public_id)
        return None


# --- training ----------------------------------------------------------------------------------


def ticket_text(ticket: Ticket) -> str:
    """What the model reads: the subject and the customer's first message."""
    first = (
        Message.objects.filter(
            ticket=ticket, author_type=Message.AuthorType.CUSTOMER, kind=Message.Kind.REPLY
        )
        .order_by("id")
        .values_list("body_text", flat=True)
        .first()
    )
    return f"{ticket.subject}\n{first or ''}".strip()


def training_examples() -> tuple[list[str], list[str]]:
    """Agents' decisions on solved tickets: every category an agent chose or confirmed, and every
    ticket an agent said was not for us (labelled ``OUT_OF_SCOPE``).

    Uncorrected predictions are left out on purpose: learning from its own guesses would only
    make the model surer of its mistakes.
    """
    rows = (
        TicketTriage.objects.filter(
            Q(category__active=True) | Q(category__isnull=True, misdirected=True),
            corrected_by__isnull=False,
            ticket__status_category__in=(StatusCategory.SOLVED, StatusCategory.CLOSED),
        )
        .select_related("ticket", "category")
        .order_by("id")
    )
    texts, labels = [], []
    for row in rows:
        texts.append(ticket_text(row.ticket))
        labels.append(row.category.name if row.category is not None else OUT_OF_SCOPE)
    return texts, labels


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float


def score(backend: Backend, texts: Sequence[str], labels: Sequence[str]) -> Scores:
    from sklearn.metrics import f1_score

    predicted = [r.label for r in rank(backend, texts, k=1)]
    accuracy = float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)]))
    macro = float(f1_score(list(labels), predicted, average="macro", zero_division=0))
    return Scores(round(accuracy, 6), round(macro, 6))


def _progress(row: TriageModel, text: str, **changes: Any) -> None:
    # Written outside any long transaction so the admin sees training advance.
    row.progress = text[:200]
    for name, value in changes.items():
        setattr(row, name, value)
    row.save(update_fields=["progress", *changes])


def _next_version() -> int:
    return (TriageModel.objects.aggregate(m=Max("version"))["m"] or 0) + 1


@transaction.atomic
def request_training(*, actor: User, backend: str = "light") -> TriageModel:
    """Queue a training run in the worker; the row shows its progress."""
    from regulars.insights.tasks import train_triage_model

    _require_admin(actor)
    make_backend(backend)  # unknown names fail here, not in the worker
    row = TriageModel.objects.create(
        backend=backend, version=_next_version(), requested_by=actor, progress="queued"
    )
    record_audit(actor, "insights.training_requested", "triage_model", row.public_id, backend=backend)
    transaction.on_commit(lambda: train_triage_model.enqueue(row.pk))
    return row


def train_model(
    *,
    backend: str = "light",
    examples: tuple[list[str], list[str]] | None = None,
    row: TriageModel | None = None,
    actor: User | None = None,
) -> TriageModel:
    """Fit a model on agents' choices, evaluate it on held-out examples, and make it the active
    model only if it scores at least as well there as the active one does.

    The candidate is kept as evaluated (fitted without the held-out part), so the figure shown
    is the figure of the model that runs. Safe to run twice: a finished row is returned as is.
    """
    if row is not None and row.state not in (TriageModel.State.QUEUED, TriageModel.State.TRAINING):
        return row
    texts, labels = examples if examples is not None else training_examples()
    if row is None:
        row = TriageModel.objects.create(
            backend=backend, version=_next_version(), requested_by=actor, progress="queued"
        )
    _progress(row, f"collected {len(texts)} examples", state=TriageModel.State.TRAINING)
    if len(texts) < MIN_EXAMPLES or len(set(labels)) < 2:
        _progress(row, f"not enough examples ({len(texts)}, {len(set(labels))} categories)",
                  state=TriageModel.State.FAILED)  # fmt: skip
        return row
    try:
        train_idx, held_idx = validation_split(texts, labels, HELD_OUT_FRACTION, seed=row.version)
        held_texts = [texts[i] for i in held_idx]
        held_labels = [labels[i] for i in held_idx]
        candidate = make_backend(row.backend)
        _progress(row, f"fitting on {len(train_idx)} examples")
        started = time.perf_counter()
        candidate.fit(
            [texts[i] for i in train_idx],
            [labels[i] for i in train_idx],
            progress=lambda text: _progress(row, text),
        )
        fit_seconds = time.perf_counter() - started
        _progress(row, f"evaluating on {len(held_idx)} held-out examples")
        mine = score(candidate, held_texts, held_labels)
        current = active_model()
        theirs = score(current[1], held_texts, held_labels) if current is not None else None
        candidate.in_scope_threshold = _in_scope_threshold(candidate, held_texts, held_labels)
        data = dumps(candidate)
    except Exception as exc:
        logger.exception("training triage model %s failed", row.public_id)
        _progress(row, f"failed: {exc}", state=TriageModel.State.FAILED)
        return row
    metrics: dict[str, Any] = {
        "examples": len(texts),
        "train_examples": len(train_idx),
        "held_out_examples": len(held_idx),
        "accuracy": mine.accuracy,
        "macro_f1": mine.macro_f1,
        "fit_seconds": round(fit_seconds, 2),
        "active_model": current[0].public_id if current else None,
        "active_accuracy": theirs.accuracy if theirs else None,
        "active_macro_f1": theirs.macro_f1 if theirs else None,
    }
    better = theirs is None or mine.accuracy >= theirs.accuracy
    with transaction.atomic():
        row.artefact, row.signature = data, sign(data)
        row.labels, row.metrics = candidate.classes, metrics
        row.in_scope_threshold = candidate.in_scope_threshold
        row.trained_at = timezone.now()
        if better:
            TriageModel.objects.filter(state=TriageModel.State.ACTIVE).update(state=TriageModel.State.RETIRED)
            row.state = TriageModel.State.ACTIVE
            row.progress = f"active: accuracy {mine.accuracy:.3f} on {len(held_idx)} held-out examples"
        else:
            assert theirs is not None
            row.state = TriageModel.State.REJECTED
            row.progress = f"kept the active model: {mine.accuracy:.3f} < {theirs.accuracy:.3f} on the same held-out examples"
        row.save(update_fields=["artefact", "signature", "labels", "metrics", "in_scope_threshold",
                                "trained_at", "state", "progress"])  # fmt: skip
        record_audit(row.requested_by, "insights.model_trained", "triage_model", row.public_id,
                     state=row.state, accuracy=mine.accuracy)  # fmt: skip
    return row


def _in_scope_threshold(backend: Backend, texts: Sequence[str], labels: Sequence[str]) -> float | None:
    ranked = rank(backend, texts, k=1)
    right = sorted(r.in_scope for r, t in zip(ranked, labels, strict=True) if r.label == t)
    if not right:
        return None
    return min(float(right[int(len(right) * IN_SCOPE_FALSE_ALARM_RATE)]), IN_SCOPE_THRESHOLD_CAP)


# --- triage ------------------------------------------------------------------------------------


def guess_brand(text: str) -> SisterBrand | None:
    """The sister brand whose description is most like ``text`` (TF-IDF cosine), if any word matches."""
    brands = list(SisterBrand.objects.filter(active=True))
    if not brands or not text.strip():
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    docs = [f"{b.name} {b.description}" for b in brands]
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit([*docs, text])
    similarity = linear_kernel(vectorizer.transform([text]), vectorizer.transform(docs))[0]
    best = int(np.argmax(similarity))
    return brands[best] if similarity[best] > 0 else None


def triage_ticket(ticket: Ticket, *, now: dt.datetime | None = None) -> TicketTriage | None:
    """Predict a new ticket's category and record what follows from it. Safe to run twice; never
    overrides an agent's correction. Returns None when no model is active yet."""
    found = active_model()
    if found is None:
        return None
    row, backend = found
    text = ticket_text(ticket)
    best = rank(backend, [text], k=3)[0]
    policy = get_settings()
    categories = {
        c.name: c for c in Category.objects.filter(name__in=[best.label, *(a for a, _ in best.alternatives)])
    }
    category = categories.get(best.label)
    if category is not None and not category.active:
        category = None
    in_scope_cut = (
        policy.in_scope_threshold if policy.in_scope_threshold is not None else row.in_scope_threshold
    )
    misdirected = in_scope_cut is not None and best.in_scope < in_scope_cut
    routed = (
        not misdirected and category is not None and category.team_id is not None
        and best.confidence >= policy.route_threshold
    )  # fmt: skip
    with transaction.atomic():
        triage = TicketTriage.objects.select_for_update().filter(ticket=ticket).first()
        if triage is not None and triage.corrected_at is not None:
            return triage
        triage = triage or TicketTriage(ticket=ticket)
        triage.category = category
        triage.predicted_category = category
        triage.confidence = round(best.confidence, 6)
        triage.in_scope_score = round(best.in_scope, 6)
        triage.alternatives = [{"category": name, "confidence": round(p, 6)} for name, p in best.alternatives]
        triage.model = row
        triage.routed = routed
        triage.routed_team_id = category.team_id if routed and category is not None else None
        triage.misdirected = misdirected
        triage.brand_guess = guess_brand(text) if misdirected else None
        triage.triaged_at = now or timezone.now()
        triage.save()
        if routed and category is not None and category.team is not None:
            route_ticket(
                ticket, team=category.team, reason=f"triage: {category.name} ({best.confidence:.0%})"
            )
    return triage


@transaction.atomic
def correct_category(ticket: Ticket, category: Category, *, actor: User) -> TicketTriage:
    """An agent says what a ticket is about. Choosing the predicted category confirms it; either
    way the choice is training data once the ticket is solved."""
    _require_full_agent(actor)
    if not visible_tickets(actor).filter(pk=ticket.pk).exists():
        raise NotFound("No such ticket.")
    if not category.active:
        raise ValidationFailed("That category is switched off.", fields={"category": "inactive"})
    triage = TicketTriage.objects.select_for_update().filter(ticket=ticket).first()
    if triage is None:
        triage = TicketTriage(ticket=ticket, triaged_at=timezone.now())
    old = triage.category.name if triage.category_id and triage.category else None
    triage.category = category
    triage.misdirected = False
    triage.redirected_to = None
    triage.corrected_by = actor
    triage.corrected_at = timezone.now()
    triage.save()
    record_audit(
        actor, "insights.category_corrected", "ticket", str(ticket.number), old=old, new=category.name
    )
    # The category's default priority is now an agent's word: the policy weighs it at once.
    assess_ticket(ticket)
    return triage


# --- sentiment and urgency ---------------------------------------------------------------------


def record_message_insight(message: Message, *, in_scope: float | None = None) -> MessageInsight | None:
    """Score a customer's public message. Safe to run twice (the first row stays). ``in_scope``:
    the score triage just gave the same text (a new ticket's first message), so the model does
    not read it twice."""
    if message.author_type != Message.AuthorType.CUSTOMER or message.kind != Message.Kind.REPLY:
        return None
    existing = MessageInsight.objects.filter(message=message).first()
    if existing is not None:
        return existing
    ticket = message.ticket
    customer_id = message.author_customer_id or ticket.requester_id
    since = message.created_at - dt.timedelta(hours=24)
    contact_count = Message.objects.filter(
        author_customer_id=customer_id,
        kind=Message.Kind.REPLY,
        created_at__gte=since,
        id__lte=message.pk,
        ticket__status_category__in=UNSOLVED_CATEGORIES,
    ).count()
    contact_count = max(contact_count, 1)
    text = message.body_text
    if (
        message.pk
        == Message.objects.filter(ticket=ticket).order_by("id").values_list("id", flat=True).first()
    ):
        text = f"{ticket.subject}\n{text}"
    compound = signals.compound(text)
    found = signals.urgency_signals(text, contact_count=contact_count)
    model = active_model() if in_scope is None else None
    if model is not None:
        in_scope = round(rank(model[1], [text], k=1)[0].in_scope, 6)
    insight, _ = MessageInsight.objects.get_or_create(
        message=message,
        defaults={
            "ticket": ticket,
            "customer_id": customer_id,
            "compound": round(compound, 4),
            "sentiment": signals.sentiment_of(compound),
            "urgency": len(found),
            "signals": found,
            "contact_count": contact_count,
            "in_scope_score": in_scope,
            "created_at": message.created_at,
            "channel": message.channel,
            "keywords": [] if message.is_flagged else keyword_keys(text),
        },
    )
    return insight


# --- event handlers ----------------------------------------------------------------------------


def _guarded(work: Callable[[], object]) -> None:
    with contextlib.suppress(Ticket.DoesNotExist, Message.DoesNotExist):  # deleted before the worker ran
        work()


def _reassess_if_evidence(ticket: Ticket) -> None:
    from regulars.insights.priority import evidence

    found = evidence(ticket)
    if found.severity or found.urgency:
        assess_ticket(ticket)


def _is_first(message: Message) -> bool:
    """Whether ``message`` is the ticket's first customer message (the text triage read)."""
    first = (
        Message.objects.filter(
            ticket_id=message.ticket_id, author_type=Message.AuthorType.CUSTOMER, kind=Message.Kind.REPLY
        )
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    return first == message.pk


def on_ticket_created(name: str, payload: dict[str, Any]) -> None:
    def work() -> None:
        ticket = Ticket.objects.get(pk=payload["ticket_id"])
        triage = triage_ticket(ticket)
        if payload.get("message_id"):
            message = Message.objects.select_related("ticket").get(pk=payload["message_id"])
            known = triage.in_scope_score if triage is not None else None
            reuse = known is not None and _is_first(message)
            insight = record_message_insight(message, in_scope=known if reuse else None)
            # Counted after triage, so the ticket's category is known; a blocked customer's
            # messages are kept as evidence but never make an alert.
            if insight is not None and not message.is_flagged:
                record_trends(insight, category=triage.category if triage is not None else None)
        # The priority policy weighs the category and the customer's urgent words. It assesses
        # every new ticket in its own handler too; whichever runs last, the ticket ends with the
        # priority that counts both, so it is asked again only when there is something to weigh.
        _reassess_if_evidence(ticket)

    _guarded(work)


def on_message_created(name: str, payload: dict[str, Any]) -> None:
    if payload.get("author_type") != Message.AuthorType.CUSTOMER or payload.get("kind") != Message.Kind.REPLY:
        return

    def work() -> None:
        message = Message.objects.select_related("ticket").get(pk=payload["message_id"])
        insight = record_message_insight(message)
        if insight is not None and not message.is_flagged:
            record_trends(insight)
        if insight is not None and insight.signals:
            _reassess_if_evidence(message.ticket)

    _guarded(work)


# --- emerging issues: subscriptions and problem tickets ----------------------------------------

PROBLEM_EMAIL = "problems@regulars.invalid"
PROBLEM_TAG = "emerging-issue"


def _require_agent(actor: User) -> None:
    if not (actor.is_active and actor.is_agent):
        raise Forbidden("Only agents may do this.", code="agents_only")


@transaction.atomic
def subscribe_to_alerts(*, actor: User, dimension: str = "", key: str = "") -> tuple[AlertSubscription, bool]:
    """Hear about new alerts: every one (no dimension), one dimension, or one key of it.
    Subscribing twice returns the first subscription (``created`` False)."""
    _require_agent(actor)
    key = key.strip()
    if dimension and dimension not in TrendDimension.values:
        raise ValidationFailed("Unknown dimension.", fields={"dimension": "invalid"})
    if key and not dimension:
        raise ValidationFailed("A key needs its dimension.", fields={"dimension": "required"})
    if len(key) > 100:
        raise ValidationFailed("A key is at most 100 characters.", fields={"key": "too long"})
    found = AlertSubscription.objects.filter(user=actor, dimension=dimension, key=key).first()
    if found is not None:
        return found, False
    row = AlertSubscription.objects.create(user=actor, dimension=dimension, key=key)
    record_audit(actor, "insights.alerts_subscribed", "alert_subscription", row.public_id,
                 dimension=dimension, key=key)  # fmt: skip
    return row, True


@transaction.atomic
def unsubscribe_from_alerts(*, actor: User, subscription: AlertSubscription) -> None:
    """Only one's own subscriptions; someone else's is 404, not 403, so ids reveal nothing."""
    if subscription.user_id != actor.pk:
        raise NotFound("No such subscription.")
    record_audit(actor, "insights.alerts_unsubscribed", "alert_subscription", subscription.public_id)
    subscription.delete()


def _problem_customer(actor: User | None) -> Customer:
    # A problem ticket is the desk's own record, not a customer's request: it belongs to an
    # internal requester with no login, like the on-call drill's, so no customer ever sees it.
    customer = find_customer_by_identity("email", PROBLEM_EMAIL)
    if customer is None:
        customer = create_customer(name="Regulars problems", emails=[PROBLEM_EMAIL], actor=actor)
    return customer


def _problem_body(alert: EmergingAlert) -> str:
    hours = ", ".join(
        f"{at[:13]}:00 {v[0]} (expected {v[1]})" for at, v in sorted(alert.buckets.items())[:24]
    )
    related = f"\nRelated keywords: {', '.join(alert.related_keys)}." if alert.related_keys else ""
    return (
        f"Emerging issue {alert.public_id}: {alert.label}.\n"
        f"Started in the hour of {alert.onset_bucket.isoformat()}; peak {alert.peak_count} messages in an hour; "
        f"{alert.total_count} messages on {alert.ticket_count} tickets from {alert.customer_count} customers "
        f"so far.{related}\nBy hour: {hours}.\n\n"
        "The customers' tickets are linked to this problem so they can be answered together."
    )


@dataclass(frozen=True)
class ProblemConversion:
    problem: Ticket
    linked: list[Ticket]
    created: bool


@transaction.atomic
def convert_alert_to_problem(
    alert: EmergingAlert, *, actor: User, subject: str | None = None
) -> ProblemConversion:
    """Open a problem ticket for an alert and link the customers' tickets to it (those the
    actor may see). Converting again links the tickets that joined the alert since, to the
    same problem ticket."""
    _require_full_agent(actor)
    alert = EmergingAlert.objects.select_for_update().get(pk=alert.pk)
    ticket_ids = AlertMessage.objects.filter(alert=alert).values("ticket_id")
    incidents = list(visible_tickets(actor).filter(pk__in=ticket_ids).order_by("pk"))
    problem = alert.problem
    created = False
    if problem is None or problem.status_category == StatusCategory.CLOSED:
        if not incidents:
            raise Forbidden("You may not see any of this alert's tickets.", code="no_visible_tickets")
        problem = open_ticket(
            subject=(subject or f"Problem: {alert.label}").strip()[:250] or f"Problem: {alert.label}",
            body=_problem_body(alert),
            requester=_problem_customer(actor),
            actor=actor,
            ticket_type=TicketType.PROBLEM,
            priority=Priority.HIGH,
            priority_reason=f"emerging issue affecting {alert.customer_count} customers",
            tags=[PROBLEM_TAG],
            assignee=actor,  # whoever raises the problem owns it (and so may always see it)
        )
        alert.problem = problem
        alert.save(update_fields=["problem", "updated_at"])
        created = True
    elif not visible_tickets(actor).filter(pk=problem.pk).exists():
        raise NotFound("No such alert.")
    linked = link_to_problem(problem, incidents, actor=actor)
    record_audit(actor, "insights.alert_converted", "emerging_alert", alert.public_id,
                 problem=problem.number, linked=[t.number for t in linked])  # fmt: skip
    return ProblemConversion(problem, linked, created)
