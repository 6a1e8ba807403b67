"""Typed keys for the aiohttp application and request."""

from aiohttp import web

from node.http.rate_limit import RateLimiter
from node.services import Services

SERVICES = web.AppKey("services", Services)
RATE_LIMITS = web.AppKey("rate_limits", RateLimiter)
REQUEST_ID = web.RequestKey("request_id", str)
