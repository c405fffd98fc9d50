"""Schema migrations (Alembic): a store written by trackboard 0.1.0 upgrades, the migrations reach
exactly ``schema.metadata``, and a server refuses an old schema.

The 0.1.0 store is tests/fixtures/store-0.1.0, written by the released code (make_store_0_1_0.py).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from trackboard import Client, LogType
from trackboard.errors import SchemaVersionError
from trackboard.store import migrations, schema
from trackboard.store.engine import create_engine
from trackboard.store.sql import Store

FIXTURE = Path(__file__).parent / "fixtures" / "store-0.1.0"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trackboard.cli", *args], capture_output=True, text=True, timeout=120)


def revision_of(db: Path) -> str | None:
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] if "alembic_version" in tables else None


def schema_differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), schema.metadata)
    finally:
        engine.dispose()


@pytest.fixture
def old_store(tmp_path) -> Path:
    directory = tmp_path / "store"
    shutil.copytree(FIXTURE, directory)
    return directory


def test_a_0_1_0_store_is_backed_up_then_upgraded_on_open(old_store):
    assert revision_of(old_store / "trackboard.db") is None  # 0.1.0 had no version table

    client = Client(directory=old_store)
    assert revision_of(old_store / "trackboard.db") == migrations.head()
    backup = old_store / "trackboard.db.backup-0.1.0"
    assert revision_of(backup) is None
    with sqlite3.connect(backup) as a, sqlite3.connect(FIXTURE / "trackboard.db") as b:
        assert list(a.iterdump()) == list(b.iterdump())  # the backup is the store as it was

    experiment = client.get_project("legacy").get_experiment("baseline")
    assert experiment.get_parameters() == {"lr": 0.001, "optimizer": {"name": "adam"}}
    loss = experiment.get_log("loss").data
    assert loss["steps"] == [0, 1, 2, 3, 10, 11] and loss["epochs"] == [None] * 4 + [1, 1]
    assert experiment.get_log("metrics").data["val"]["values"] == [0.15, 0.25]
    assert experiment.get_log("accuracy").data == 0.95
    assert experiment.get_log("confusion").data["categories"] == ["cat", "dog"]
    assert experiment.get_log("labelmap").data == {"0": "cat", "1": "dog"}
    assert experiment.get_log("eval").data["metrics"] == {"accuracy": 0.9}
    assert experiment.get_log("per_class").type is LogType.BAR
    image = experiment.get_log("sample")
    assert image.read_bytes()[:4] == b"\x89PNG" and image.data["width"] == 4
    assert experiment.get_artifact("weights").size == 1088

    # 0002 filled the IMAGE log's blob columns from its metadata (gc and sizes rely on them).
    with sqlite3.connect(old_store / "trackboard.db") as conn:
        assert conn.execute("SELECT blob_sha256, blob_size FROM logs WHERE type='IMAGE'").fetchall() == [
            (image.data["sha256"], image.data["size"])
        ]
    # 0003 filled what run queries read (parameters, VALUE logs, LINE extremes) for the old runs.
    project = client.get_project("legacy")
    for query in ("params.lr = 0.001 and params.optimizer.name = 'adam'", "values.accuracy >= 0.95",
                  "min.loss = 0.25 and max.loss = 3"):
        assert "baseline" in [e.name for e in project.search_experiments(query)], query
    # 0005 gave every old series a lineage of its own (chart reads keep decoded chunks under it).
    with sqlite3.connect(old_store / "trackboard.db") as conn:
        lineages = [row[0] for row in conn.execute("SELECT lineage FROM series")]
    assert len(lineages) >= 3 and len(set(lineages)) == len(lineages) and all(len(x) == 32 for x in lineages)
    # And the upgraded store takes new logs of every kind.
    experiment.log("loss", [0.2], LogType.LINE)
    experiment.log("sample2", image.read_bytes(), LogType.IMAGE)
    experiment.flush()
    assert experiment.get_log("loss").data["steps"][-1] == 12
    assert schema_differences(f"sqlite:///{old_store / 'trackboard.db'}") == []


def test_an_empty_store_is_created_at_head_without_a_backup(store_dir):
    Client(directory=store_dir).get_or_create_project("p")
    assert revision_of(store_dir / "trackboard.db") == migrations.head()
    assert not list(store_dir.glob("*.backup-*"))


def test_the_migrations_reach_schema_metadata_on_sqlite(tmp_path):
    """A schema.py change without a migration fails here (write one: see the README)."""
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    command.upgrade(migrations.alembic_config(url=url), "head")
    assert schema_differences(url) == []


def test_the_migrations_reach_schema_metadata_on_postgres(postgres_cluster):
    url = postgres_cluster.new_database("migrated")
    command.upgrade(migrations.alembic_config(url=url), "head")
    assert schema_differences(url) == []
    # create_all + stamp (how an empty store starts) gives the same schema.
    fresh = postgres_cluster.new_database("fresh")
    Store(fresh, "unused").close()
    assert schema_differences(fresh) == []


def test_a_server_refuses_an_old_schema_until_db_upgrade(tmp_path):
    db = tmp_path / "server.db"
    shutil.copy(FIXTURE / "trackboard.db", db)
    url = f"sqlite:///{db}"
    refused = cli("server", "--db", url, "--blobs", str(tmp_path / "blobs"), "--port", "1")
    assert refused.returncode == 1
    assert f"run `trackboard db upgrade --db {url}`" in refused.stderr and "0.1.0" in refused.stderr
    assert revision_of(db) is None  # untouched
    with pytest.raises(SchemaVersionError, match="trackboard db upgrade"):
        Store(url, tmp_path / "blobs")

    assert cli("db", "current", "--db", url).stdout.split() == ["database:", "0.1.0", "trackboard:", migrations.head()]
    upgraded = cli("db", "upgrade", "--db", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema at {migrations.head()} (was 0.1.0)" in upgraded.stdout
    assert revision_of(db) == migrations.head() and revision_of(Path(f"{db}.backup-0.1.0")) is None
    assert Store(url, tmp_path / "blobs").get_project("legacy")["description"] == "written by trackboard 0.1.0"
    assert "schema at" in cli("db", "upgrade", "--db", url).stdout  # a second upgrade does nothing


def test_a_database_from_a_newer_trackboard_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    Store(url, tmp_path / "blobs").close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match="9999, newer than this trackboard"):
        Store(url, tmp_path / "blobs", upgrade=True)


def test_opening_a_store_reads_the_revisions_as_alembic_does(tmp_path, old_store):
    """The open path reads the version table and the versions' files without importing Alembic;
    it must give Alembic's answers: the head, and the revision of an empty, a 0.1.0, an old and a
    current database."""
    from alembic.script import ScriptDirectory

    assert migrations.head() == ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()
    empty, older, current = (f"sqlite:///{tmp_path / name}.db" for name in ("empty", "older", "current"))
    command.upgrade(migrations.alembic_config(url=older), "0002")
    Store(current, tmp_path / "blobs").close()
    expected = {empty: None, older: "0002", current: migrations.head(), f"sqlite:///{old_store / 'trackboard.db'}": "0.1.0"}
    for url, revision in expected.items():
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert migrations.current_revision(conn) == revision
                if revision != "0.1.0":
                    assert MigrationContext.configure(conn).get_current_revision() == revision
        finally:
            engine.dispose()


def test_opening_a_store_at_head_does_not_import_alembic(tmp_path):
    Store(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "blobs").close()  # created: Alembic stamps it
    script = (f"import sys; from trackboard.store.sql import Store; Store({f'sqlite:///{tmp_path}/a.db'!r}, {str(tmp_path / 'blobs')!r}).close(); "
              "print('alembic' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout.strip() == "False"
