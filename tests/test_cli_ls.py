"""``trackboard ls PROJECT``: a table with a header, --filter / --sort / --columns / --limit / --csv,
run as a real subprocess against a real store."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest
from query_cases import populate

from trackboard import Client
from trackboard.backend import release


def trackboard(*args: str, directory) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trackboard.cli", *args, "--dir", str(directory)],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ls")
    populate(Client(directory=directory).create_project("nlp"))
    release(directory)
    return directory


def test_ls_prints_a_table_with_a_header(store):
    result = trackboard("ls", "nlp", directory=store)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "status", "created", "duration", "values.accuracy", "values.note", "id"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert sorted(rows) == sorted(["bert-base", "bert-large", "BERT-tiny", "gpt_small", "empty", "nan-run"])
    assert rows["bert-base"][1] == "SUCCESS" and rows["bert-base"][5:7] == ["0.91", "ok"]
    assert rows["empty"][5:7] == ["-", "-"]  # missing values show as '-'
    assert rows["nan-run"][5] == "nan"
    assert lines[1].index("SUCCESS") == lines[0].index("status")  # aligned columns


def test_ls_filter_sort_columns_and_limit(store):
    result = trackboard("ls", "nlp", "--filter", "params.lr < 0.1", "--sort", "values.accuracy DESC",
                        "--columns", "name,params.lr,min.loss,tags", "--limit", "2", directory=store)
    assert result.returncode == 0, result.stderr
    assert [line.split() for line in result.stdout.splitlines()] == [
        ["name", "params.lr", "min.loss", "tags"],
        ["bert-large", "0.0001", "0.2", "baseline,large"],
        ["bert-base", "0.001", "0.3", "baseline"],
    ]


def test_ls_csv(store):
    result = trackboard("ls", "nlp", "--csv", "--sort", "name", "--columns", "id,name,created_at,duration,last.multi.val",
                        directory=store)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["name"] for row in rows] == ["BERT-tiny", "bert-base", "bert-large", "empty", "gpt_small", "nan-run"]
    base = rows[1]
    assert base["last.multi.val"] == "2.5" and rows[0]["last.multi.val"] == ""
    assert base["created"].endswith("+00:00") and float(base["duration"]) >= 0
    client = Client(directory=store)
    try:
        assert base["id"] == client.get_project("nlp").get_experiment("bert-base").id
    finally:
        release(store)


@pytest.mark.parametrize("args, message", [
    (("--filter", "values.accuracy <"), "trackboard: at 17: expected a value after '<'"),
    (("--sort", "accuracy"), "trackboard: at 0: unknown field 'accuracy'"),
    (("--columns", "name,loss"), "trackboard: column 'loss': at 0: unknown field 'loss'"),
    (("bert-base", "--csv"), "trackboard: --filter, --sort, --columns, --limit and --csv list a project's"),
])
def test_ls_bad_queries_are_one_line_errors(store, args, message):
    result = trackboard("ls", "nlp", *args, directory=store)
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message)


def test_ls_options_need_a_project(store):
    result = trackboard("ls", "--filter", "name = 'a'", directory=store)
    assert result.returncode == 1 and "list a project's experiments" in result.stderr
