"""Fixtures for browser tests: Playwright driving Debian's Chromium against a live server.

The browser is the system one (``/usr/bin/chromium``, installed by ``make test``), never a
downloaded build. Tests select controls by role and label, as a person using a screen reader
would, so an unlabelled control fails a test.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on the test thread; the ORM calls a test makes
    # between browser steps are still ordinary synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def _new_page(browser: Any, live_server: Any, width: int = 1280, height: int = 800) -> Any:
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Requests sent and not yet answered, so teardown can wait for them (see _close).
    in_flight: set[Any] = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))
    page.in_flight = in_flight
    return page


def _close(page: Any) -> None:
    """Close a page once the requests it started have been answered (at most 5 s). A request
    still being served (similar tickets load after the page, polls every few seconds) keeps a
    live-server thread in the database, and the test's flush would deadlock with it on
    PostgreSQL."""
    from playwright.sync_api import Error

    for _ in range(50):
        if not page.in_flight:
            break
        with contextlib.suppress(Error):
            page.wait_for_timeout(100)  # lets Playwright deliver the responses' events
    page.context.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) on the live server."""
    page = _new_page(browser, live_server)
    yield page
    _close(page)


@pytest.fixture
def second_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A second, independent person at another browser."""
    page = _new_page(browser, live_server)
    yield page
    _close(page)


@pytest.fixture
def phone_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A 360 px wide screen."""
    page = _new_page(browser, live_server, width=360, height=740)
    yield page
    _close(page)


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    """Save a full-page PNG: into ``$REGULARS_SCREENSHOTS`` (``make screenshots``) or ``tmp_path``."""
    folder = Path(os.environ.get("REGULARS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
