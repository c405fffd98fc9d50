"""A worker runs one append at a time (server/appends.py): the others wait before their body is
read, and reads pass them by."""

from __future__ import annotations

import asyncio
import threading

from trackboard.server.appends import AppendLimit


def run(coroutine_function):
    """``asyncio.run`` on a thread of its own: the browser tests' Playwright keeps an event loop
    running on the main thread for the whole session."""
    result = {}

    def target():
        try:
            result["value"] = asyncio.run(coroutine_function())
        except BaseException as error:  # raised again on the test's thread, assertion messages included
            result["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in result:
        raise result["error"]
    return result["value"]


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

    reads = run(scenario)
    assert running["most"] == 1 and order.count("append") == 6 and reads == [1] * 6


def test_the_workers_of_a_server_share_the_hosts_append_slots(tmp_path):
    """Two workers (each its own lock files, as two processes open them) with one host slot: the
    second worker's append starts only when the first one's ends, and a read passes both."""
    from trackboard.server.appends import HostSlots

    events = []
    release = asyncio.Event()

    async def app(scope, receive, send):
        events.append(("start", scope["worker"], scope["path"]))
        if scope["path"].endswith("batches") and scope["worker"] == "a":
            await release.wait()
        events.append(("end", scope["worker"], scope["path"]))

    workers = {name: AppendLimit(app, host=HostSlots(str(tmp_path), 1)) for name in ("a", "b")}

    async def request(worker: str, method: str, path: str):
        await workers[worker]({"type": "http", "method": method, "path": path, "worker": worker}, None, None)

    async def scenario():
        first = asyncio.create_task(request("a", "POST", "/api/trackboard/batches"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(request("b", "POST", "/api/trackboard/batches"))
        await asyncio.sleep(0.05)
        assert ("start", "b", "/api/trackboard/batches") not in events  # the host's one slot is taken
        await request("b", "GET", "/ui/data/projects")  # reads never wait for a slot
        release.set()
        await asyncio.gather(first, second)

    run(scenario)
    appends = [e for e in events if e[2].endswith("batches")]
    assert appends == [("start", "a", "/api/trackboard/batches"), ("end", "a", "/api/trackboard/batches"),
                       ("start", "b", "/api/trackboard/batches"), ("end", "b", "/api/trackboard/batches")]
    assert ("end", "b", "/ui/data/projects") in events
