"""Synchronous hooks other contexts attach to, run inside the customers' own transaction.

``customers_merged`` lets ``tickets`` move a merged customer's tickets in the same transaction
as the merge, without ``customers`` importing ``tickets``.
"""

from django.dispatch import Signal

customers_merged = Signal()  # kwargs: source, target, actor
