from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "regulars.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from regulars.core.checkpoint import on_connection_created
        from regulars.core.scheduling import register_periodic

        connection_created.connect(on_connection_created, dispatch_uid="regulars.core.checkpoint")
        from regulars.core.tasks import prune_scheduled_runs

        register_periodic("core.prune_scheduled_runs", "17 3 * * *", prune_scheduled_runs)
