"""WSGI entry for the HTTP benchmarks: the real application (same middleware, same settings)
with ``/bench/trivial`` added, so the API and a trivial view are measured by one server."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.trivial_settings"
application = get_wsgi_application()
gc.freeze()  # as config/wsgi.py does in production
