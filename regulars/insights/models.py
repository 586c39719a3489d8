"""What the insight engine knows: categories, trained models, each ticket's triage, each message's
mood, the hourly counters behind emerging-issue alerts, the alerts themselves and who follows them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from regulars.accounts.models import Team
from regulars.core.ids import new_ulid
from regulars.core.models import TimeStampedModel
from regulars.customers.models import Customer
from regulars.tickets.models import Message, Priority, Ticket


def new_cat_id() -> str:
    return f"cat_{new_ulid()}"


def new_mdl_id() -> str:
    return f"mdl_{new_ulid()}"


def new_brand_id() -> str:
    return f"brand_{new_ulid()}"


def new_alert_id() -> str:
    return f"alert_{new_ulid()}"


def new_alertsub_id() -> str:
    return f"alertsub_{new_ulid()}"


class Category(TimeStampedModel):
    """What a request is about, as admins name it, and where such requests go.

    Invariants: ``name`` is unique. A model's labels are category names; an inactive category
    is never predicted (its rows stay, so old tickets keep their label and old training data
    stays usable when it is switched back on).
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_cat_id, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    default_priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    # Knowledge articles that usually answer this kind of request, shown to the agent with the
    # prediction: a list of {"title": ..., "url": ...}, checked by services.check_articles.
    articles = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class TriageSettings(models.Model):
    """The triage thresholds of this install (a singleton: always ``pk=1``), edited in the product.

    ``route_threshold``: a prediction at least this confident routes the ticket to its category's
    team; below it the ticket waits in the triage queue. ``in_scope_threshold``: a message whose
    best category is less likely than this is probably not for us (misdirected queue); ``None``
    uses the threshold the active model chose on its own held-out data.
    """

    route_threshold = models.FloatField(default=0.6)
    in_scope_threshold = models.FloatField(null=True, blank=True)
    # Sent to a customer whose message is not for us when no sister brand fits.
    misdirected_reply = models.TextField(
        blank=True,
        default=(
            "Thank you for your message. It looks like it reached us by mistake: we could not "
            "find anything of ours it is about. If we are wrong, just reply and a person will "
            "pick it up."
        ),
    )

    class Meta:
        verbose_name_plural = "triage settings"

    def __str__(self) -> str:
        return "Triage settings"


class TriageModel(models.Model):
    """One trained classifier and how it scored.

    Invariants: at most one row is ``active`` (the one triage uses). ``artefact`` is the backend's
    pickled state followed by nothing else; ``signature`` is an HMAC of it under SECRET_KEY, and
    the artefact is unpickled only when the signature matches, so only artefacts this install
    wrote are ever loaded (pickle runs code; a row edited by hand or restored from a foreign
    database is refused, and the model must be retrained). The blob lives in the database, not
    under VAR_DIR, so every worker and web process sees the same model with the row that
    describes it, and backups carry both.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected (not better than the active model)"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    public_id = models.CharField(max_length=40, unique=True, default=new_mdl_id, editable=False)
    backend = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    in_scope_threshold = models.FloatField(null=True, blank=True)
    artefact = models.BinaryField(null=True, blank=True, editable=False)
    signature = models.CharField(max_length=128, blank=True, editable=False)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["version"], name="insights_model_version_unique"),
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="active"), name="insights_one_active_model"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.backend} v{self.version} ({self.state})"


class SisterBrand(TimeStampedModel):
    """Somewhere else a misdirected customer may have meant to write: a sister brand or partner.

    ``description`` holds the words their customers use; the best guess for a misdirected
    message is the brand whose description is most similar to it.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_brand_id, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(help_text="What they do, in their customers' words.")
    contact = models.CharField(max_length=200, blank=True)
    forward_address = models.EmailField(blank=True)
    reply_template = models.TextField(
        blank=True,
        default=(
            "Thank you for your message. It looks like it is meant for {brand}; "
            "you can reach them at {contact}."
        ),
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketTriage(models.Model):
    """What the model said about one ticket, what was done with it and what an agent decided.

    Invariants: one row per ticket. ``category`` is the current label: the prediction until an
    agent corrects it, then the agent's choice (``corrected_by``/``corrected_at`` set, and
    ``predicted_category`` keeps what the model said). ``routed`` says the prediction was
    confident enough to send the ticket to ``routed_team``. ``misdirected`` says the message
    probably is not for us; ``brand_guess`` is the best guess of where it belongs.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="triage")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    predicted_category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confidence = models.FloatField(null=True, blank=True)
    in_scope_score = models.FloatField(null=True, blank=True)
    alternatives = models.JSONField(default=list, blank=True)
    model = models.ForeignKey(TriageModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    routed = models.BooleanField(default=False)
    routed_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    misdirected = models.BooleanField(default=False)
    brand_guess = models.ForeignKey(
        SisterBrand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_at = models.DateTimeField()
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    corrected_at = models.DateTimeField(null=True, blank=True)
    # An agent confirmed "not for us" (``corrected_by`` set, ``misdirected`` true, no category):
    # the ticket is an out-of-scope example at the next training. ``redirected_to`` is the sister
    # brand the customer was pointed to, if any.
    redirected_to = models.ForeignKey(
        SisterBrand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "ticket triage"
        indexes = [
            models.Index(fields=["routed", "corrected_at", "-id"], name="insights_triage_queue"),
            models.Index(fields=["misdirected", "-id"], name="insights_misdirected"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.category_id}"


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"
    POSITIVE = "positive", "Positive"


class MessageInsight(models.Model):
    """How a customer's message reads: sentiment and urgency signals.

    Invariants: one row per message, for customers' public messages only. ``compound`` is
    VADER's score in [-1, 1]; ``sentiment`` is derived from it with VADER's usual +-0.05 cut.
    ``urgency`` counts the signals found; ``signals`` names them. ``contact_count`` is how many
    messages this customer sent on open tickets in the 24 hours up to this one, this one included.
    """

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="insight")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    compound = models.FloatField()
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices)
    urgency = models.PositiveSmallIntegerField(default=0)
    signals = models.JSONField(default=list, blank=True)
    contact_count = models.PositiveIntegerField(default=1)
    in_scope_score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField()
    # Emerging issues: the channel the message came through, its normalised keyword keys, and
    # when it was added to the hourly counters. ``counted_at`` is claimed with a conditional
    # UPDATE in the transaction that bumps the counters, so a redelivered event counts nothing.
    channel = models.CharField(max_length=16, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["ticket", "id"], name="insights_message_by_ticket"),
            models.Index(fields=["created_at"], name="insights_message_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.sentiment} on message {self.message_id}"


# --- emerging issues ---------------------------------------------------------------------------


class TrendDimension(models.TextChoices):
    CATEGORY = "category", "Category"
    KEYWORD = "keyword", "Keyword cluster"
    CHANNEL = "channel", "Channel"


class TrendSeries(models.Model):
    """One counted series: customers' messages per hour in one category, keyword cluster or channel.

    Invariants: unique per (dimension, key). ``key`` is a category's public id, a normalised
    keyword key (see ``insights.keywords``) or a channel name. ``first_bucket`` is the first hour
    anything was counted and never moves back; ``last_bucket`` the latest. Series unseen for the
    retention period are pruned with their counts.
    """

    dimension = models.CharField(max_length=16, choices=TrendDimension.choices)
    key = models.CharField(max_length=100)
    first_bucket = models.DateTimeField()
    last_bucket = models.DateTimeField()

    class Meta:
        verbose_name_plural = "trend series"
        constraints = [models.UniqueConstraint(fields=["dimension", "key"], name="insights_series_unique")]
        indexes = [models.Index(fields=["last_bucket"], name="insights_series_last")]

    def __str__(self) -> str:
        return f"{self.dimension}:{self.key}"


class TrendCount(models.Model):
    """How many messages one series counted in one hour (``bucket`` is the start of the hour, UTC).

    Invariants: unique per (series, bucket); only ever incremented, by the event handler that
    claims a message (``MessageInsight.counted_at``), so detection reads counters instead of
    scanning messages. An hour without a row counted nothing.
    """

    series = models.ForeignKey(TrendSeries, on_delete=models.CASCADE, related_name="counts")
    bucket = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "bucket"], name="insights_count_unique")]
        indexes = [models.Index(fields=["bucket", "count"], name="insights_count_by_bucket")]

    def __str__(self) -> str:
        return f"{self.series_id}@{self.bucket.isoformat()}: {self.count}"


class AlertState(models.TextChoices):
    OPEN = "open", "Open (still elevated)"
    CLOSED = "closed", "Closed (back to normal)"


class EmergingAlert(TimeStampedModel):
    """One incident: a series rising well above what is expected for that hour of the week.

    Invariants: at most one ``open`` alert per (dimension, key); it is created once, when the
    series first crosses the alert threshold, and updated while it stays elevated
    (``last_elevated_bucket``, ``peak_count``, ``buckets``); it closes once the series has been
    back below the lower "still elevated" line for ``emerging.CLOSE_AFTER_QUIET_HOURS`` complete
    hours. A later rise is a new alert. ``buckets`` maps each elevated hour (ISO 8601) to
    ``[count, expected]``; ``related_keys`` are other keyword keys found in the same messages,
    folded into this alert rather than raised on their own. ``problem`` is the problem ticket an
    agent turned it into.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_alert_id, editable=False)
    dimension = models.CharField(max_length=16, choices=TrendDimension.choices)
    key = models.CharField(max_length=100)
    label = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    onset_bucket = models.DateTimeField()
    last_elevated_bucket = models.DateTimeField()
    detected_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    current_count = models.PositiveIntegerField(default=0)
    peak_count = models.PositiveIntegerField(default=0)
    expected = models.FloatField(default=0.0)
    total_count = models.PositiveIntegerField(default=0)
    ticket_count = models.PositiveIntegerField(default=0)
    customer_count = models.PositiveIntegerField(default=0)
    buckets = models.JSONField(default=dict, blank=True)
    related_keys = models.JSONField(default=list, blank=True)
    problem = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "key"], condition=Q(state="open"), name="insights_one_open_alert"
            )
        ]
        indexes = [models.Index(fields=["state", "-id"], name="insights_alert_by_state")]

    def __str__(self) -> str:
        return f"{self.label} ({self.state})"


class AlertMessage(models.Model):
    """A customer's message that is part of an alert's incident. Unique per (alert, message);
    at most ``emerging.MAX_MESSAGES_PER_ALERT`` per alert."""

    alert = models.ForeignKey(EmergingAlert, on_delete=models.CASCADE, related_name="messages")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    bucket = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "message"], name="insights_alert_message_unique")
        ]
        indexes = [models.Index(fields=["alert", "-id"], name="insights_alert_messages")]

    def __str__(self) -> str:
        return f"{self.alert_id}: message {self.message_id}"


class AlertSubscription(models.Model):
    """An agent who wants to hear about new alerts: all of them, one dimension, or one key.

    Invariants: unique per (user, dimension, key); blank ``dimension`` means every alert, blank
    ``key`` every key of the dimension.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_alertsub_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=16, choices=TrendDimension.choices, blank=True)
    key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "dimension", "key"], name="insights_subscription_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.dimension or 'all'}:{self.key or '*'}"


class MailOutbox(models.Model):
    """What every outbox row of the engine has: written in the transaction of the change it
    tells about, mailed after the commit by ``outbox.deliver``. ``sent_at`` is set after the mail
    went out; a failed send keeps ``error`` and is tried again, at most ``MAX_TRIES`` times."""

    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    MAX_TRIES = 5

    class Meta:
        abstract = True


class AlertNotification(MailOutbox):
    """The outbox of alert notifications: one row per (alert, person, reason), written in the
    transaction that opened or grew the alert, then mailed by a background handler.

    Invariants: unique per (alert, user, reason), so a detection run twice notifies once.
    ``sent_at`` is set after the mail went out; a failed send keeps ``error`` and is retried by
    the next detection run, at most ``MAX_TRIES`` times.
    """

    class Reason(models.TextChoices):
        OPENED = "opened", "Alert opened"

    alert = models.ForeignKey(EmergingAlert, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.OPENED)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "user", "reason"], name="insights_notification_once")
        ]
        indexes = [models.Index(fields=["sent_at", "id"], name="insights_notification_unsent")]

    def __str__(self) -> str:
        return f"{self.alert_id} -> {self.user_id} ({self.reason})"


class MisdirectedForward(MailOutbox):
    """The outbox of misdirected messages forwarded to a sister brand or partner: written in the
    transaction where the agent said "not for us", then mailed by a background task.

    Invariants: one row per ticket (a ticket is forwarded once). ``sent_at`` is set after the mail
    went out; a failed send keeps ``error`` and is retried on a schedule, at most ``MAX_TRIES``
    times, so an accepted forward is never lost silently.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="+")
    brand = models.ForeignKey(SisterBrand, null=True, on_delete=models.SET_NULL, related_name="+")
    to_address = models.EmailField()
    subject = models.CharField(max_length=250)
    body = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["sent_at", "id"], name="insights_forward_unsent")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} -> {self.to_address}"
