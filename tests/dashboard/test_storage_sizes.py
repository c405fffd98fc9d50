"""The dashboard shows what each project and experiment holds: LINE points and blob bytes."""

from __future__ import annotations

from dashhelpers import live_ui, open_ready, png_bytes, release
from trackboard import Client, LogType


def test_projects_project_and_experiment_pages_show_sizes(page, tmp_path):
    client = Client(directory=tmp_path)
    project = client.get_or_create_project("sized")
    image = png_bytes()
    first, second = project.create_experiment("first"), project.create_experiment("second")
    first.log("loss", list(range(1234)), LogType.LINE)
    first.log("sample", image, LogType.IMAGE)
    second.log("sample", image, LogType.IMAGE)  # the same blob: counted once for the project
    second.log("acc", [0.5, 0.6], LogType.LINE)
    for experiment in (first, second):
        experiment.close()
    client.flush()
    size = f"{len(image)} B" if len(image) < 1000 else f"{len(image) / 1000:.1f} kB"
    try:
        with live_ui(tmp_path) as url:
            open_ready(page, f"{url}/ui/")
            page.wait_for_selector("body[data-sizes='1']")  # the cards are drawn first, their sizes follow
            assert page.inner_text(".project-card .storage") == f"1,236 points · {size}"
            open_ready(page, f"{url}/ui/projects/{project.id}")
            assert page.inner_text(".page-head .storage") == f"1,236 points · {size}"
            open_ready(page, f"{url}/ui/experiments/{second.id}")
            assert page.inner_text(".page-head .storage") == f"2 points · {size}"
    finally:
        release(tmp_path)
