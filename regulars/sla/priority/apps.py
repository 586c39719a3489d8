from django.apps import AppConfig


class PriorityConfig(AppConfig):
    name = "regulars.sla.priority"
    label = "sla_priority"
    verbose_name = "Priority by issue"

    def ready(self) -> None:
        from regulars.core.events import subscribe
        from regulars.sla.priority.services import on_ticket_event

        # tickets never imports sla: the policy reacts to what tickets announce.
        for name in ("ticket.created", "ticket.updated", "message.created"):
            subscribe(name, on_ticket_event, background=True)
