from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "regulars.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        from regulars.channels.base import register_channel
        from regulars.channels.email import handlers
        from regulars.channels.email.imap import imap_poll
        from regulars.channels.email.outbound import SmtpAdapter
        from regulars.channels.email.tasks import channel_health_alerts, email_sweep
        from regulars.core.events import subscribe
        from regulars.core.scheduling import register_periodic

        register_channel("email", SmtpAdapter())
        subscribe("message.created", handlers.on_message_created)
        # Events are delivered after commit and a failing handler is only logged, so the sweep
        # also picks up whatever a handler or an interrupted worker left behind.
        register_periodic("channels.email_sweep", "* * * * *", email_sweep)
        register_periodic("channels.imap_poll", "* * * * *", imap_poll)
        register_periodic("channels.health_alerts", "* * * * *", channel_health_alerts)
