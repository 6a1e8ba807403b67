"""The REST entrypoint: aiohttp app factory, endpoints, middlewares and the OpenAPI document."""
