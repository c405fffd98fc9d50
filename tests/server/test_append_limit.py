"""A worker runs one append at a time (server/appends.py): the others wait before their body is
read, and reads pass them by."""

from __future__ import annotations

import asyncio

from trackboard.server.appends import AppendLimit


def test_appends_wait_their_turn_and_reads_pass_them():
    running = {"appends": 0, "most": 0}
    release = asyncio.Event()
    order = []

    async def app(scope, receive, send):
        if not scope["path"].endswith(("batches", "append", "logs")):
            order.append(scope["path"])
            return
        running["appends"] += 1
        running["most"] = max(running["most"], running["appends"])
        await receive()  # the body is read only once the append is let in
        await release.wait()
        running["appends"] -= 1
        order.append("append")

    limited = AppendLimit(app)

    async def request(method: str, path: str):
        body = {"read": 0}

        async def receive():
            body["read"] += 1
            return {"type": "http.request", "body": b"{}", "more_body": False}

        await limited({"type": "http", "method": method, "path": path}, receive, None)
        return body["read"]

    async def scenario():
        paths = ["/api/trackboard/batches", "/api/log/abc/append", "/api/experiment/abc/logs"] * 2
        appends = [asyncio.create_task(request("POST", path)) for path in paths]
        await asyncio.sleep(0.05)
        assert running == {"appends": 1, "most": 1}  # one in, five waiting without reading their body
        await request("GET", "/ui/data/projects")  # a read is not held behind them
        await request("POST", "/api/trackboard/heartbeat")  # nor other writes
        assert order == ["/ui/data/projects", "/api/trackboard/heartbeat"]
        release.set()
        return await asyncio.gather(*appends)

    reads = asyncio.run(scenario())
    assert running["most"] == 1 and order.count("append") == 6 and reads == [1] * 6
