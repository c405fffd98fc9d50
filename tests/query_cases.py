"""One set of runs and the queries over them, shared by every surface that evaluates run queries
(the embedded SQLite store, PostgreSQL, the remote client on a real server), so all give the same runs."""

from __future__ import annotations

import math

from trackboard import LogType

NAN = float("nan")

RUNS = [
    # name, status, parameters, VALUE logs, LINE logs, tags
    ("bert-base", "SUCCESS", {"lr": 0.001, "batch": 32, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "amp": True},
     {"accuracy": 0.91, "note": "ok"}, {"loss": [1.0, 0.5, 0.3], "multi": {"train": [3.0, 2.0], "val": [2.5]}},
     ["baseline"]),
    ("bert-large", "SUCCESS", {"lr": 0.0001, "batch": 64, "opt": {"name": "sgd"}, "amp": False},
     {"accuracy": 0.95}, {"loss": [2.0, 0.2, 0.4]}, ["baseline", "large"]),
    ("BERT-tiny", "FAILED", {"lr": 0.01, "batch": 16}, {"accuracy": 0.7}, {"loss": [0.9, NAN, 0.8]}, []),
    ("gpt_small", "RUNNING", {"lr": "1e-3", "batch": 32}, {}, {"val/loss": [0.5, 0.34]}, []),
    ("empty", "RUNNING", {}, {}, {}, []),
    ("nan-run", "SUCCESS", {"seed": 7}, {"accuracy": NAN}, {"loss": [NAN]}, []),
]
ALL = sorted(run[0] for run in RUNS)

# filter -> the names it selects (sorted)
CASES = {
    "params.lr < 0.01": ["bert-base", "bert-large"],
    "params.lr = '1e-3'": ["gpt_small"],
    "params.lr <= 0.01 and (values.accuracy >= 0.9 or status = 'FAILED')": ["BERT-tiny", "bert-base", "bert-large"],
    "name like 'bert-%'": ["bert-base", "bert-large"],
    "name like 'gpt_small'": ["gpt_small"],
    "name like '%*%' or name like 'bert?%'": [],
    "name not like 'bert%'": ["BERT-tiny", "empty", "gpt_small", "nan-run"],
    "tags contains 'baseline'": ["bert-base", "bert-large"],
    "not tags contains 'large'": [n for n in ALL if n != "bert-large"],
    "tags is null": ["BERT-tiny", "empty", "gpt_small", "nan-run"],
    "tags is not null and tags contains 'large'": ["bert-large"],
    "min.loss < 0.35": ["bert-base", "bert-large"],
    "max.loss > 1.5": ["bert-large"],
    "last.loss >= 0.4": ["BERT-tiny", "bert-large"],
    "min.loss is null": ["empty", "gpt_small", "nan-run"],
    "min.`val/loss` < 0.35": ["gpt_small"],
    "last.multi.val > 0 and max.multi.train = 3": ["bert-base"],
    "params.opt.name in ('adam', 'rmsprop')": ["bert-base"],
    "params.`opt.name` not in ('adam')": ["bert-large"],
    "params.amp = true": ["bert-base"],
    "params.amp = false": ["bert-large"],
    "values.accuracy is null": ["empty", "gpt_small", "nan-run"],
    "params.batch != 32": ["BERT-tiny", "bert-large"],
    "status in ('success', 'FAILED')": ["BERT-tiny", "bert-base", "bert-large", "nan-run"],
    "values.note = 'ok' and values.note like 'o%'": ["bert-base"],
    "duration >= 0 and created_at > '2000-01-01' and created_at > 946684800": ALL,
    "not (params.batch = 32 or params.batch = 64)": ["BERT-tiny"],
    "NAME = 'empty' OR name = 'nan-run'": ["empty", "nan-run"],
    "params.missing = 1 or values.missing > 0 or last.missing < 1 or params.opt.betas = 1": [],
    "params.seed in (7, 'x') and not name in ('bert-base')": ["nan-run"],
}

# (order_by, max_results) -> the names in order
ORDERS = {
    (("values.accuracy DESC",), None): ["bert-large", "bert-base", "BERT-tiny", "gpt_small", "empty", "nan-run"],
    (("params.lr",), None): ["bert-large", "bert-base", "BERT-tiny", "gpt_small", "empty", "nan-run"],
    (("params.lr desc",), 2): ["BERT-tiny", "bert-base"],
    (("min.loss", "name DESC"), None): ["bert-large", "bert-base", "BERT-tiny", "nan-run", "gpt_small", "empty"],
}


def populate(project) -> dict:
    """Log RUNS into ``project``; returns name -> Experiment."""
    made = {}
    for name, status, parameters, values, lines, tags in RUNS:
        experiment = project.create_experiment(name, parameters=parameters or None)
        for key, value in values.items():
            experiment.log(key, value, LogType.VALUE)
        for key, data in lines.items():
            experiment.log(key, data, LogType.LINE)
        if tags:
            experiment.add_tags(*tags)
        if status != "RUNNING":
            experiment.close(status)
        else:
            experiment.flush()
        made[name] = experiment
    return made


def check_all(project) -> None:
    """Every case gives its runs, every order its sequence."""
    for query, expected in CASES.items():
        found = sorted(e.name for e in project.search_experiments(query))
        assert found == expected, f"{query!r}: {found} != {expected}"
    for (order_by, max_results), expected in ORDERS.items():
        found = [e.name for e in project.search_experiments(order_by=list(order_by), max_results=max_results)]
        assert found == expected, f"{order_by!r}: {found} != {expected}"


def stored_extremes(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """(last, min, max) of a series as the store keeps them (NaN ignored by min/max; a NaN last is missing)."""
    finite = [v for v in values if not math.isnan(v)]
    last = values[-1] if values and not math.isnan(values[-1]) else None
    return last, (min(finite) if finite else None), (max(finite) if finite else None)
