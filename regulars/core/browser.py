"""Fixtures for browser tests: Playwright driving Debian's Chromium against a live server.

The browser is the system one (``/usr/bin/chromium``, installed by ``make test``), never a
downloaded build. Tests select controls by role and label, as a person using a screen reader
would, so an unlabelled control fails a test.
"""

from __future__ import annotations

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
    return context.new_page()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) on the live server."""
    page = _new_page(browser, live_server)
    yield page
    page.context.close()


@pytest.fixture
def second_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A second, independent person at another browser."""
    page = _new_page(browser, live_server)
    yield page
    page.context.close()


@pytest.fixture
def phone_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A 360 px wide screen."""
    page = _new_page(browser, live_server, width=360, height=740)
    yield page
    page.context.close()


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
