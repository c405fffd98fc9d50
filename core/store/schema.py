"""Tables of the store (SQLAlchemy Core); the same schema serves SQLite and PostgreSQL.

LINE points live in ``chunks``: each row packs up to CHUNK_POINTS points of one series as numpy
buffers, so a million-point series is a few hundred rows, range reads skip whole chunks by their
step bounds, and an append rewrites at most one partly filled tail chunk.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("project_id", sa.String(36), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    # Where an imported run came from ("mlflow:<uri>#<run id>", "tensorboard:<folder>"): importing
    # again updates this experiment instead of adding another.
    sa.Column("source", sa.String(1024), nullable=True),
    # The process running the experiment (see core/heartbeat.py): a RUNNING experiment whose
    # heartbeat is stale, or whose process is gone from this host, reads as CRASHED.
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("heartbeat_interval", sa.Float, nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("hostname", sa.String(256), nullable=True),
    sa.UniqueConstraint("project_id", "name"),
    sa.Index("ix_experiments_source", "project_id", "source"),
)

# Run queries sort and filter a project's experiments; most start from the project, oldest first.
sa.Index("ix_experiments_project_created", experiments.c.project_id, experiments.c.created_at)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("experiment_id", sa.String(36), sa.ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag", sa.String(256), primary_key=True),
)

# The ``parameters`` TABLE log flattened into one row per key (nested keys joined with "."), kept by
# the store's write path (store/derived.py) so run queries compare parameters in SQL.
parameter_values = sa.Table(
    "parameter_values",
    metadata,
    sa.Column("experiment_id", sa.String(36), sa.ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(1024), primary_key=True),
    sa.Column("number", sa.Float, nullable=True),  # numbers and bools
    sa.Column("text", sa.Text, nullable=True),  # strings; lists as JSON
)

# Run queries find "the experiments whose parameter KEY is < X" from this index, not row by row.
sa.Index("ix_parameter_values_key_number", parameter_values.c.key, parameter_values.c.number)

logs = sa.Table(
    "logs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("experiment_id", sa.String(36), sa.ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("data", sa.Text, nullable=True),  # canonical JSON; NULL for LINE (points are in chunks)
    # A VALUE log's scalar for run queries (store/derived.py): numbers and bools as a number, text as text.
    sa.Column("value_number", sa.Float, nullable=True),
    sa.Column("value_text", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    # The blob an IMAGE log shows (its sha256 and size are in ``data`` too): for gc and sizes in SQL.
    sa.Column("blob_sha256", sa.String(64), nullable=True, index=True),
    sa.Column("blob_size", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("experiment_id", "name"),
)

# Run queries find "the experiments whose VALUE / LINE log NAME ..." from this index.
sa.Index("ix_logs_name_value", logs.c.name, logs.c.value_number)

series = sa.Table(
    "series",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("log_id", sa.String(36), sa.ForeignKey("logs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),  # "" for a log's single unnamed series
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("chunk_count", sa.Integer, nullable=False),
    sa.Column("last_step", sa.Float, nullable=True),
    sa.Column("last_value", sa.Float, nullable=True),  # for tables of runs, without reading chunks
    sa.Column("min_value", sa.Float, nullable=True),  # min./max. in run queries (NaN ignored; store/derived.py)
    sa.Column("max_value", sa.Float, nullable=True),
    # Random, new with the row and at each rewind: full chunks never change within one lineage, so
    # what a reader decoded of them stays right while it is the same (store/kept.py).
    sa.Column("lineage", sa.String(32), nullable=True),
    sa.UniqueConstraint("log_id", "name"),
)

chunks = sa.Table(
    "chunks",
    metadata,
    sa.Column("series_id", sa.Integer, sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("step_min", sa.Float, nullable=False),
    sa.Column("step_max", sa.Float, nullable=False),
    # Block summaries for charts (store/summaries.py), NULL in chunks from before 0004: decoded then.
    # Before the point buffers, so SQLite reads them without walking the buffers' overflow pages.
    sa.Column("summary", sa.LargeBinary, nullable=True),
    sa.Column("step_data", sa.LargeBinary, nullable=False),
    sa.Column("value_data", sa.LargeBinary, nullable=False),
    sa.Column("time_data", sa.LargeBinary, nullable=False),
    sa.Column("epoch_data", sa.LargeBinary, nullable=True),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("experiment_id", sa.String(36), sa.ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("filename", sa.String(256), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("experiment_id", "name"),
    sa.Index("ix_artifacts_sha256", "sha256"),  # gc: is a blob still referred to
)

# For the tracking server: API tokens (hashed) and the idempotency keys of applied batches.
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
    # What the token may do (read, write, admin) and where (a JSON list of project names; NULL: all).
    sa.Column("role", sa.String(16), nullable=False, server_default="write"),
    sa.Column("projects", sa.Text, nullable=True),
    sa.Column("expires_at", sa.Float, nullable=True),  # NULL: never
)

# Dashboard sign-ins: the cookie holds a random session id, of which only the hash is stored.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("token_name", sa.String(128), sa.ForeignKey("tokens.name", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

# Every image logged under an IMAGE log's name, oldest first (the log's ``data`` is the latest), so
# the dashboard can step through them like TensorBoard. Rows go with their log.
image_history = sa.Table(
    "image_history",
    metadata,
    sa.Column("log_id", sa.String(36), sa.ForeignKey("logs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),  # 0 for the first image of the log, then 1, 2, ...
    sa.Column("data", sa.Text, nullable=False),  # the image's metadata JSON (sha256 names its blob)
    sa.Column("created_at", sa.Float, nullable=False),
    # The blob it shows, as on ``logs``: gc and storage sizes count every image of the history.
    sa.Column("blob_sha256", sa.String(64), nullable=True, index=True),
    sa.Column("blob_size", sa.BigInteger, nullable=True),
    sa.PrimaryKeyConstraint("log_id", "seq"),
)

applied_batches = sa.Table(
    "applied_batches",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

# For the tracking server's presigned-URL flow: the picsellia SDK asks for an object name, uploads
# the bytes to a signed URL, then refers to the object by name (an IMAGE log, an artifact). The row
# maps that name to the content-addressed blob once the bytes arrived.
uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("object_name", sa.String(512), primary_key=True),
    sa.Column("experiment_id", sa.String(36), nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("filename", sa.String(256), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=True),  # NULL until the upload is complete
    sa.Column("size", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

# Server-wide settings shared by every worker (the key that signs upload and download URLs).
server_settings = sa.Table(
    "server_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
