"""The real settings, with one extra URL: a trivial view to compare the API against."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.trivial_urls"
