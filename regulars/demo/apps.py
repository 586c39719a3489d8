from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Reproducible demo and benchmark data, built through the same services as real data."""

    name = "regulars.demo"
    label = "demo"
    verbose_name = "Demo data"
