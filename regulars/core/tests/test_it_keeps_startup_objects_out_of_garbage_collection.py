"""The WSGI entry point moves what startup loaded out of the collector's reach (gc.freeze), so a
full collection during a request does not walk every module and URL pattern again."""

from __future__ import annotations

import gc
import importlib
import sys


def test_the_wsgi_module_freezes_what_startup_loaded():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    sys.modules.pop("config.wsgi", None)
    try:
        module = importlib.import_module("config.wsgi")
        assert callable(module.application)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
