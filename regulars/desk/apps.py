from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "regulars.desk"
    label = "desk"
    verbose_name = "Agent desk"
