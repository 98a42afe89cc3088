"""The REST API `/api/v1`: bearer tokens with read and write scopes, JSON in and out,
described by an OpenAPI 3.1 document at `/api/v1/openapi.json` built from the same
route table (`routes.OPERATIONS`)."""

from monitor.web.api.app import PREFIX, api_routes
from monitor.web.api.auth import token_digest
from monitor.web.api.deps import ApiDeps, ConfigProvider, Readiness
from monitor.web.api.openapi import openapi_document
from monitor.web.api.routes import OPERATIONS

__all__ = [
    "OPERATIONS",
    "PREFIX",
    "ApiDeps",
    "ConfigProvider",
    "Readiness",
    "api_routes",
    "openapi_document",
    "token_digest",
]
