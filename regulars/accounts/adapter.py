"""How django-allauth fits Regulars: no self sign-up; agents are made by admins."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Agents are created by an admin; customers get a login through the portal, which checks
        # their address first. An open sign-up form would let anyone become a "user".
        return False
