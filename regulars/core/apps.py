from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "regulars.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from regulars.core.scheduling import register_periodic
        from regulars.core.tasks import prune_scheduled_runs

        register_periodic("core.prune_scheduled_runs", "17 3 * * *", prune_scheduled_runs)
