"""Emerging-issue alerts for the desk tests: bare rows for listing and paging, as ``detect``
leaves them behind. A real alert comes from the insight engine's synthetic streams."""

from __future__ import annotations

import datetime as dt
from typing import Any

from regulars.insights.models import AlertState, EmergingAlert, TrendDimension
from regulars.insights.tests.streams import MONDAY


def make_alert(key: str, *, state: str = AlertState.CLOSED, **fields: Any) -> EmergingAlert:
    onset = MONDAY - dt.timedelta(days=3)
    return EmergingAlert.objects.create(
        dimension=TrendDimension.KEYWORD, key=key, label=f"More messages about {key}", state=state,
        onset_bucket=onset, last_elevated_bucket=onset, detected_at=onset,
        closed_at=onset + dt.timedelta(hours=3) if state == AlertState.CLOSED else None, **fields,
    )  # fmt: skip
