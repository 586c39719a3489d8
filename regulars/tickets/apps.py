from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "regulars.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from regulars.customers.signals import customers_merged
        from regulars.tickets import versions
        from regulars.tickets.services import move_tickets_of_merged_customer

        customers_merged.connect(move_tickets_of_merged_customer, dispatch_uid="tickets.move_on_merge")
        # SQLite drops a table's triggers when a migration rebuilds the table: put them back.
        post_migrate.connect(versions.ensure_after_migrate, sender=self, dispatch_uid="tickets.row_versions")
