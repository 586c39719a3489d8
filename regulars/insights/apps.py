from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "regulars.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from regulars.core.events import subscribe
        from regulars.insights.services import on_message_created, on_ticket_created

        # tickets never imports insights: triage and sentiment react to what tickets announce,
        # in the worker, so a request never waits for a model.
        subscribe("ticket.created", on_ticket_created, background=True)
        subscribe("message.created", on_message_created, background=True)
