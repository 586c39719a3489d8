"""The REST API, version 1: schema in, service, schema out.

OpenAPI at /api/v1/openapi.json and interactive docs at /api/v1/docs.
"""

from __future__ import annotations

from ninja import NinjaAPI

from regulars.api import agents, customers, organisations, search, tags, tickets
from regulars.api.auth import AUTH
from regulars.api.errors import install_error_handlers

api = NinjaAPI(
    title="Regulars API",
    version="1",
    description=(
        "Authenticate with `Authorization: Bearer <token>` (scope `read` for GET, `write` for the rest) "
        "or a browser session with a CSRF token. Errors are "
        '`{"error": {"code", "message", "fields"}}`. Lists are paged by cursor.'
    ),
    urls_namespace="api-v1",
    auth=AUTH,
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)

for module in (tickets, customers, organisations, agents, tags, search):
    api.add_router("", module.router)
api.add_router("", "regulars.api.oncall.router")
api.add_router("", "regulars.api.priority.router")
api.add_router("/sla", "regulars.api.sla.router")
api.add_router("", "regulars.api.channels.router")
api.add_router("/insights", "regulars.api.insights.router")
