"""Fixtures the desk's tests share with the insight engine's: its three categories (Billing with a
refunds article) and a light model trained on them."""

from regulars.insights.tests.conftest import categories, trained  # noqa: F401
