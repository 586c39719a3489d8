"""The email channel: SMTP/LMTP delivery into a ledger, parsing with budgets, threading, an outbox."""
