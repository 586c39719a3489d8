from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "regulars.portal"
    label = "portal"
    verbose_name = "Customer portal"

    def ready(self) -> None:
        from regulars.core import events
        from regulars.core.scheduling import register_periodic
        from regulars.portal.services import deliver_sign_in_link
        from regulars.portal.tasks import purge_expired_requests_task

        events.subscribe("portal.sign_in_link_requested", deliver_sign_in_link, background=True)
        register_periodic("portal.purge_expired_requests", "41 * * * *", purge_expired_requests_task)
