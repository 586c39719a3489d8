from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "regulars.sla.oncall"
    label = "sla_oncall"
    verbose_name = "On-call and escalation"

    def ready(self) -> None:
        from regulars.core.events import subscribe
        from regulars.core.scheduling import register_periodic
        from regulars.sla.oncall import handlers, tasks

        subscribe("ticket.created", handlers.on_ticket_created, background=True)
        subscribe("ticket.updated", handlers.on_ticket_updated, background=True)
        register_periodic("sla_oncall.escalate", "* * * * *", tasks.escalate_task)
        register_periodic("sla_oncall.drills", "* * * * *", tasks.drills_task)
