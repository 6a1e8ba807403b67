"""Typed keys for the aiohttp application and request."""

from aiohttp import web

from node.auth import Principal
from node.http.rate_limit import RateLimiter
from node.overload import Admission
from node.services import Services

SERVICES = web.AppKey("services", Services)
RATE_LIMITS = web.AppKey("rate_limits", RateLimiter)
ADMISSION = web.AppKey("admission", Admission)  # the bound on requests in flight (node/overload.py)
REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", Principal)  # the caller, once authenticated
# (method, path template) of the operations that need a bearer token: authenticated before their parameters
# are checked, so a caller without a token learns nothing about them
PROTECTED = web.AppKey("protected", frozenset)
