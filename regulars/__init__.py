"""Regulars: an open-source customer-service platform."""
