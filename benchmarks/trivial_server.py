"""The REST benchmark's baseline: an aiohttp server whose one handler answers a small JSON document, run as a
process of its own like a node. ``python -m benchmarks.trivial_server PORT``"""

from __future__ import annotations

import sys

from aiohttp import web


async def answer(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response(
        {"case_id": "00000000-0000-0000-0000-000000000000", "state": "SUBMITTED"}, status=201
    )


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/cases", answer)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
