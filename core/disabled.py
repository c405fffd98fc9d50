"""TRACKBOARD_MODE=disabled: every call works and nothing is stored anywhere."""

from __future__ import annotations

import time
import uuid
from typing import Any

from .errors import AlreadyExistsError, NotFoundError


class DisabledBackend:
    """Keeps project and experiment rows in memory so code runs unchanged; logs are dropped."""

    def __init__(self) -> None:
        self.settings = None  # nothing to reach from another process
        self._projects: dict[str, dict] = {}
        self._experiments: dict[str, dict] = {}

    def put(self, record: Any) -> None:
        pass

    def flush(self, timeout: float | None = None) -> None:
        pass

    def after_fork(self) -> None:
        pass

    def create_project(self, name: str, description: str | None) -> dict:
        if name in self._projects:
            raise AlreadyExistsError(f"a project named {name!r} already exists")
        row = {"id": str(uuid.uuid4()), "name": name, "description": description, "created_at": time.time()}
        self._projects[name] = row
        return row

    def get_project(self, name: str) -> dict:
        if name not in self._projects:
            raise NotFoundError(f"no project named {name!r}")
        return self._projects[name]

    def get_project_by_id(self, project_id: str) -> dict:
        return next(p for p in self._projects.values() if p["id"] == project_id)

    def list_projects(self) -> list[dict]:
        return list(self._projects.values())

    def create_experiment(self, project_id: str, name: str, description: str | None) -> dict:
        now = time.time()
        row = {"id": str(uuid.uuid4()), "project_id": project_id, "name": name, "description": description,
               "status": "RUNNING", "created_at": now, "updated_at": now, "finished_at": None}
        self._experiments[row["id"]] = row
        return row

    def get_experiment(self, project_id: str, name: str) -> dict:
        for row in self._experiments.values():
            if row["project_id"] == project_id and row["name"] == name:
                return row
        raise NotFoundError(f"no experiment named {name!r} in this project")

    def get_experiment_by_id(self, experiment_id: str) -> dict:
        if experiment_id not in self._experiments:
            raise NotFoundError(f"no experiment with id {experiment_id!r}")
        return self._experiments[experiment_id]

    def list_experiments(self, project_id: str) -> list[dict]:
        return [row for row in self._experiments.values() if row["project_id"] == project_id]

    def set_status(self, experiment_id: str, status: str) -> None:
        self._experiments[experiment_id]["status"] = status

    def log_kinds(self, experiment_id: str) -> dict:
        return {}

    def get_log(self, experiment_id: str, name: str):
        raise NotFoundError(f"no log named {name!r}: TRACKBOARD_MODE is disabled, nothing is stored")

    def list_logs(self, experiment_id: str) -> list[dict]:
        return []

    def delete_log(self, experiment_id: str, name: str) -> None:
        pass

    def has_blob(self, sha256: str) -> bool:
        return False

    def add_artifact(self, experiment_id: str, name: str, path) -> dict:
        return {"name": name, "filename": str(path), "size": 0, "sha256": "", "content_type": "application/octet-stream"}

    def list_artifacts(self, experiment_id: str) -> list[dict]:
        return []

    def get_artifact(self, experiment_id: str, name: str) -> dict:
        raise NotFoundError(f"no artifact named {name!r}: TRACKBOARD_MODE is disabled")

    # Run queries see no runs (nothing is stored); tags and notes are kept in memory like the rows.
    def search_experiments(self, project_id: str, filter=None, order_by=None, max_results=None) -> list[dict]:
        return []

    def experiment_summaries(self, experiment_ids: list[str]) -> dict[str, dict]:
        return {i: {"tags": [], "params": {}, "values": {}, "series": []} for i in experiment_ids}

    def get_tags(self, experiment_id: str) -> list[str]:
        return sorted(self.get_experiment_by_id(experiment_id).setdefault("tags", set()))

    def add_tags(self, experiment_id: str, tags: list[str]) -> None:
        self.get_experiment_by_id(experiment_id).setdefault("tags", set()).update(tags)

    def remove_tags(self, experiment_id: str, tags: list[str]) -> None:
        self.get_experiment_by_id(experiment_id).setdefault("tags", set()).difference_update(tags)

    def update_experiment(self, experiment_id: str, name: str | None = None, description: str | None = None) -> dict:
        row = self.get_experiment_by_id(experiment_id)
        row.update({k: v for k, v in (("name", name), ("description", description)) if v is not None})
        return row

    def delete_experiment(self, experiment_id: str) -> None:
        self._experiments.pop(experiment_id, None)
