from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "regulars.portal"
    label = "portal"
    verbose_name = "Customer portal"
