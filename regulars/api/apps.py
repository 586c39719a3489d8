from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "regulars.api"
    label = "api"
    verbose_name = "REST API"
