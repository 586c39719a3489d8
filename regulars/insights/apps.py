from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "regulars.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from regulars.core.events import subscribe
        from regulars.core.scheduling import register_periodic
        from regulars.insights import tasks
        from regulars.insights.emerging import on_alert_opened
        from regulars.insights.misdirected import on_forward_queued
        from regulars.insights.priority import evidence
        from regulars.insights.services import on_message_created, on_ticket_created
        from regulars.sla.priority.evidence import register

        # tickets never imports insights: triage and sentiment react to what tickets announce,
        # in the worker, so a request never waits for a model.
        subscribe("ticket.created", on_ticket_created, background=True)
        subscribe("message.created", on_message_created, background=True)
        # Emerging issues: the handlers above also count each customer message into its hour;
        # detection reads those counters on a schedule, and mails subscribers in the worker.
        subscribe("insights.alert_opened", on_alert_opened, background=True)
        subscribe("insights.forward_queued", on_forward_queued, background=True)
        register_periodic("insights.detect_emerging", "*/10 * * * *", tasks.detect_emerging_issues)
        register_periodic("insights.prune_trends", "17 3 * * *", tasks.prune_trend_counters)
        register_periodic("insights.retry_forwards", "*/10 * * * *", tasks.retry_misdirected_forwards)
        # The priority policy weighs the ticket's category and the customer's urgent words.
        register("insights", evidence)
