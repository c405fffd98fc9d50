"""A live server's storage accounting (API and dashboard data) and its periodic garbage collection:
deleting an experiment through the API frees its rows at once and its blobs within a gc interval."""

from __future__ import annotations

import io
import time

import requests
from PIL import Image

from trackboard import LogType


def png(color: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (5, 4), (0, color, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def blob_names(server) -> set[str]:
    return {path.name for path in server.blobs.glob("??/*")}


def test_sizes_then_delete_then_periodic_gc(make_server, remote_factory, tmp_path):
    server = make_server(args=("--gc-interval", "1", "--gc-grace", "4"))
    token = server.create_token("tests", "--role", "admin")  # deleting an experiment takes an admin
    server.start()
    client = remote_factory(server, token)
    project = client.get_or_create_project("storage")
    keep, drop = project.create_experiment("keep"), project.create_experiment("drop")
    keep.log("loss", [0.5, 0.4, 0.3], LogType.LINE)
    keep.log("shared", png(1), LogType.IMAGE)
    drop.log("shared", png(1), LogType.IMAGE)
    drop.log("own", png(2), LogType.IMAGE)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w" * 3000)
    drop.store("weights", weights)
    for experiment in (keep, drop):
        experiment.close()

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    shared, own = len(png(1)), len(png(2))
    sizes = api.get(f"{server.url}/api/project/{project.id}/storage", timeout=10).json()
    assert sizes["points"] == 3 and sizes["blob_bytes"] == shared + own + 3000
    assert sizes["experiments"][keep.id] == {"points": 3, "blob_bytes": shared}
    assert sizes["experiments"][drop.id] == {"points": 0, "blob_bytes": shared + own + 3000}
    assert api.get(f"{server.url}/api/experiment/{keep.id}/storage", timeout=10).json() == {"points": 3, "blob_bytes": shared}
    listing = api.get(f"{server.url}/ui/data/storage", timeout=10).json()["projects"]
    assert listing[project.id] == {"points": 3, "blob_bytes": shared + own + 3000}
    page = api.get(f"{server.url}/ui/data/projects/{project.id}", timeout=10).json()
    assert page["project"]["size"]["blob_bytes"] == shared + own + 3000
    first = api.get(f"{server.url}/ui/data/projects/{project.id}", params={"limit": 1}, timeout=10).json()
    rest = api.get(f"{server.url}/ui/data/projects/{project.id}", params={"offset": 1}, timeout=10).json()
    assert "size" not in first["project"] and rest["project"]["size"] == page["project"]["size"]  # with the last rows
    assert api.get(f"{server.url}/ui/data/experiments/{keep.id}", timeout=10).json()["size"] == {"points": 3, "blob_bytes": shared}
    assert len(blob_names(server)) == 3

    assert api.delete(f"{server.url}/api/experiment/{drop.id}", timeout=10).status_code == 204
    assert api.get(f"{server.url}/api/experiment/{drop.id}", timeout=10).status_code == 404
    deadline = time.monotonic() + 30
    while len(blob_names(server)) != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert blob_names(server) == {keep.get_log("shared").data["sha256"]}
    assert keep.get_log("shared").read_bytes() == png(1)
    assert api.get(f"{server.url}/api/project/{project.id}/storage", timeout=10).json()["blob_bytes"] == shared
    assert project.create_experiment("drop").name == "drop"  # the deleted run's name is free
