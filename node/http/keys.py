"""Typed keys for the aiohttp application and request."""

from aiohttp import web

from node.services import Services

SERVICES = web.AppKey("services", Services)
REQUEST_ID = web.RequestKey("request_id", str)
