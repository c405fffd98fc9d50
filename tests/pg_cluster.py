"""A throwaway PostgreSQL cluster for the tests, started with Debian's server binaries.

One cluster per test session (``postgres_cluster`` in conftest.py); each user of it gets a
database of its own (``cluster.new_database()``). Skipped only where the binaries or psycopg are
missing (`.ci/run` installs both).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time

from live_process import free_port

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def as_postgres(*command: str) -> list[str]:
    # initdb and postgres refuse to run as root; run them as the postgres user when we are root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class PostgresCluster:
    def __init__(self) -> None:
        self.bin = BIN[-1]
        self.data = tempfile.mkdtemp(prefix="trackboard-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        subprocess.run(as_postgres(f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust"),
                       check=True, capture_output=True)
        self.port = free_port()
        # fsync off: a throwaway cluster, and the shared CI machine's disk is slow.
        self.process = subprocess.Popen(
            as_postgres(f"{self.bin}/postgres", "-D", self.data, "-p", str(self.port), "-h", "127.0.0.1",
                        "-k", self.data, "-c", "fsync=off", "-c", "max_connections=300"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._names = itertools.count()
        for _ in range(200):
            ready = subprocess.run([f"{self.bin}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)],
                                   capture_output=True)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("PostgreSQL did not start")

    @property
    def url(self) -> str:
        """The cluster's default database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self, prefix: str = "tb") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import sqlalchemy as sa

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.data, ignore_errors=True)
