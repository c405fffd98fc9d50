"""A read transaction is one snapshot on every database: its statements see the same committed
data, whatever commits meanwhile (a chart reads a series' chunk bounds, then some chunks' points, in
two statements; an append may rewrite the series' last chunk in between)."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from trackboard.logtype import LogType
from trackboard.normalise import normalise
from trackboard.records import Record
from trackboard.store import schema as t
from trackboard.store.engine import read_transaction, write_transaction
from trackboard.store.points import CHUNK_POINTS
from trackboard.store.sql import Store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'trackboard.db'}"
    else:
        url = request.getfixturevalue("postgres_cluster").new_database()
    store = Store(url, tmp_path / "blobs")
    yield store
    store.close()


def test_a_read_transaction_does_not_see_what_commits_after_its_first_read(store):
    project = store.create_project("p")
    experiment = store.create_experiment(project["id"], "e")
    chunks = sa.select(sa.func.count()).select_from(t.chunks)
    with read_transaction(store.engine) as reader:
        assert reader.execute(chunks).scalar() == 0
        values = np.arange(CHUNK_POINTS + 1.0).tolist()
        store.apply([Record(experiment["id"], "loss", LogType.LINE, normalise("loss", LogType.LINE, values), False, 1.0)])
        assert reader.execute(chunks).scalar() == 0  # the append committed: not in this snapshot
        assert reader.execute(sa.select(t.experiments.c.name)).scalars().all() == ["e"]
    with read_transaction(store.engine) as reader:
        assert reader.execute(chunks).scalar() == 2


@pytest.mark.parametrize("store", ["postgres"], indirect=True)  # SQLite has one isolation level
def test_writes_after_a_read_keep_the_databases_default_isolation(store):
    """The snapshot is the read's alone: a pooled connection goes back to PostgreSQL's default,
    READ COMMITTED (where two appends to one experiment queue on its row instead of failing to
    serialize), and may write again."""
    for _ in range(3):
        with read_transaction(store.engine) as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "repeatable read"
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
        with write_transaction(store.engine) as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "off"
    store.create_project("written after reads")
