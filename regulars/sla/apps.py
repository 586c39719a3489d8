from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "regulars.sla"
    label = "sla"
    verbose_name = "Service levels"

    def ready(self) -> None:
        from regulars.core.events import subscribe
        from regulars.core.scheduling import register_periodic
        from regulars.sla import handlers
        from regulars.sla.tasks import run_sla_clocks

        subscribe("ticket.created", handlers.on_ticket_changed, background=True)
        subscribe("ticket.updated", handlers.on_ticket_changed, background=True)
        subscribe("message.created", handlers.on_ticket_changed, background=True)
        subscribe("ticket.merged", handlers.on_ticket_changed, background=True)
        subscribe("customer.updated", handlers.on_customer_updated, background=True)
        register_periodic("sla.run_clocks", "* * * * *", run_sla_clocks)
