from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "regulars.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from regulars.customers.signals import customers_merged
        from regulars.tickets.services import move_tickets_of_merged_customer

        customers_merged.connect(move_tickets_of_merged_customer, dispatch_uid="tickets.move_on_merge")
