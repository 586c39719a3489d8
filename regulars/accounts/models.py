"""People who sign in (agents, admins, customers with a portal login), teams, tokens, audit."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from regulars.core.ids import new_team_id, new_tok_id, new_usr_id
from regulars.core.models import TimeStampedModel


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"
    LIGHT_AGENT = "light_agent", "Light agent"
    CUSTOMER = "customer", "Customer"


AGENT_ROLES = frozenset({Role.ADMIN, Role.AGENT, Role.LIGHT_AGENT})


class TicketScope(models.TextChoices):
    """Which tickets an agent may see. Admins always see all."""

    ALL = "all", "All tickets"
    TEAMS = "teams", "Tickets of my teams and mine"
    ASSIGNED = "assigned", "Only tickets assigned to me"


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save()
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in. ``role`` decides what they may do.

    Invariants: ``email`` is stored lower-case and is unique. A customer's user row is linked
    from ``customers.Customer.user``; agents have no customer row. Admins are Django staff.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_usr_id, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    ticket_scope = models.CharField(max_length=16, choices=TicketScope.choices, default=TicketScope.ALL)
    time_zone = models.CharField(max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Part of the session hash: raising it signs the user out of every session at once.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.name or self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django checks this hash on every request; mixing in ``session_epoch`` lets
        # ``sign_out_everywhere`` end all sessions without touching the password.
        key_salt = "regulars.accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.session_epoch}", secret=secret, algorithm="sha256"
        ).hexdigest()

    @property
    def is_staff(self) -> bool:  # the Django admin is for admins only
        return self.role == Role.ADMIN and self.is_active

    @property
    def is_agent(self) -> bool:
        return self.role in AGENT_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Team(TimeStampedModel):
    """A group of agents that tickets are routed to. Names are unique."""

    public_id = models.CharField(max_length=40, unique=True, default=new_team_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(User, related_name="teams", blank=True)

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token for the API. Only a SHA-256 of the secret is stored.

    Invariants: ``prefix`` is unique and shown to people to tell tokens apart; a token with
    ``revoked_at`` or a past ``expires_at`` never authenticates. ``scopes`` is a subset of
    {"read", "write"}.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_tok_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AuditLog(models.Model):
    """Who changed what, written in the same transaction as the change. Never updated.

    ``object_type`` is a short label such as ``ticket`` or ``customer``; ``object_id`` is the
    public id or number people see.
    """

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("audit rows are append-only")
        super().save(*args, **kwargs)
