"""Context capture through the tracking server: the same records reach it over the writer's batches."""

from __future__ import annotations

import time
import warnings

from trackboard import TrackingWarning


def test_a_remote_experiment_records_its_context_on_the_server(remote, monkeypatch):
    monkeypatch.setenv("TRACKBOARD_CAPTURE", "1")
    monkeypatch.setenv("TRACKBOARD_SYSTEM_INTERVAL", "0.1")
    client = remote()
    experiment = client.get_or_create_project("capture").create_experiment("remote-run")
    for step in range(15):  # the first samples wait for the context's upload
        experiment.log("loss", step * 0.1, "line")
        time.sleep(0.1)
    experiment.close()
    assert experiment.get_log("environment").data["versions"]["trackboard"]
    assert "requirements.txt" in {a.name for a in experiment.list_artifacts()}
    cpu = experiment.get_log("system/cpu_percent").data
    # The server assigns steps: each sample continues the series (0, 1, 2...), with its wall time.
    assert len(cpu["values"]) >= 2 and cpu["steps"] == list(range(len(cpu["values"])))
    assert cpu["times"] == sorted(cpu["times"])


def test_offline_mode_spools_the_environment_and_skips_the_artifacts(server, remote, tmp_path, monkeypatch):
    from trackboard import Client
    from trackboard.remote import release, sync

    monkeypatch.setenv("TRACKBOARD_CAPTURE", "1")
    monkeypatch.setenv("TRACKBOARD_SYSTEM_INTERVAL", "0")
    import trackboard.capture.warn_once as warn_once

    warn_once._warned.clear()
    client = Client(server.token, host=server.url, directory=tmp_path / "spool", mode="offline")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        experiment = client.get_or_create_project("capture").create_experiment("offline-run")
        experiment.close()
    # No warning about the artifacts: they need the server, and offline that is expected.
    assert not [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    release(client._backend)
    # Synced later, the environment reaches the server with the other spooled logs.
    import io

    assert sync(host=server.url, api_token=server.token, directory=str(tmp_path / "spool"), out=io.StringIO()) == 0
    online = remote()
    synced = online.get_project("capture").get_experiment("offline-run")
    assert synced.get_log("environment").data["pid"] > 0
