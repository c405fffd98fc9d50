"""The tracking-server client: the Backend protocol over HTTP, a spool for when the server is away.

``Client(api_token, host)`` (or ``TRACKBOARD_HOST`` / ``TRACKBOARD_API_TOKEN``) gives the same
objects as the embedded store; their calls land here. Three pieces, one job each:

* ``Transport``: one pooled ``requests.Session``; retries connection errors, 429 and 5xx with
  backoff for a bounded time, then raises ``ServerUnreachableError``; maps error answers to
  trackboard errors.
* ``Sender``: delivers batch bodies (``trackboard.wire``) in order. A batch the server does not
  acknowledge in time goes to the ``Spool`` on disk; while the spool holds anything, new batches
  queue behind it, and every later send (or ``trackboard sync``) replays it first. Bodies keep
  their idempotency key, so a batch is applied once however often it is sent. A spooled batch
  the server answers 500 to (its own failure, not being away) on ``POISON_AFTER`` replays is set
  aside, so it cannot hold back the batches after it.
* ``RemoteBackend``: the Backend. ``log()`` only enqueues (the shared ``BackgroundWriter`` calls
  ``Sender.deliver`` from its thread), so a slow or dead server never slows training. Projects and
  experiments are created through the batch route with ids chosen here; when the server is
  unreachable (or ``TRACKBOARD_MODE=offline``) the same operation is spooled and the object is
  used at once under that id. Reads go to the server.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import uuid
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import requests
from requests.adapters import HTTPAdapter

from . import wire
from .backend import close_backend, shared_backend
from .config import Settings, resolve
from .errors import (
    AlreadyExistsError,
    AuthenticationError,
    FlushTimeoutError,
    InvalidLogError,
    LogTypeConflictError,
    NotFoundError,
    ServerError,
    TrackboardError,
    TrackingWarning,
    WriteError,
)
from .heartbeat import Heartbeat
from .logtype import LogType
from .records import Record
from .spool import Spool
from .writer import BackgroundWriter

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
SEND_WINDOW_S = 10.0  # how long the writer retries one batch before spooling it
CALL_WINDOW_S = 3.0  # how long a caller's call (create, read) retries before giving up
FLUSH_TIMEOUT_S = 120.0  # flush() without a timeout
EXIT_GRACE_S = 10.0  # at interpreter exit: what is not acknowledged by then stays spooled
GIVE_UP_S = 5.0  # flush() without a timeout stops waiting for a server that is away (refuses connections) this long
BACKOFF_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
MAX_PAUSE_S = 10.0  # the longest the writer spools without trying the server again
POISON_AFTER = 3  # replays of one spooled batch answered 500 before it is set aside, unblocking the rest

_Failures = list[tuple[Record, Exception]]


class ServerUnreachableError(ServerError, ConnectionError):
    """The tracking server did not answer (connection refused, timeout, 5xx or 429 throughout).

    ``status``: the last HTTP status answered, None when the last try got no answer at all.
    ``away``: the last try could not connect or lost its connection (refused, reset, no route): the
    server is down, not slow (a read timeout, 5xx or 429: it is there and busy).
    """

    def __init__(self, message: str, status: int | None = None, away: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.away = away


class UnknownWhileOfflineError(NotFoundError):
    """Whether a project or experiment exists is unknown: the server is unreachable or offline.

    A ``NotFoundError``, so ``get_or_create_project`` / ``get_or_create_experiment`` go on to
    create it; the creation is spooled and merges with an existing one of that name on sync.
    """


# -- HTTP ------------------------------------------------------------------------------------


class Transport:
    """A pooled session to one server, with bounded retries and errors mapped to trackboard's."""

    def __init__(self, host: str, api_token: str | None,
                 timeout: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) -> None:
        self.base = base_url(host)
        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if api_token:
            self.session.headers["Authorization"] = f"Bearer {api_token}"
        self.session.headers["User-Agent"] = "trackboard"

    def request(
        self, method: str, path: str, *, window: float, conflict: type[Exception] = AlreadyExistsError,
        data_factory: Callable[[], Any] | None = None, timeout: tuple[float, float] | None = None, **kwargs: Any,
    ) -> requests.Response:
        """Send, retrying connection errors, 429 and 5xx with backoff for about ``window`` seconds.

        ``path`` is a path on the server or an absolute URL. ``data_factory`` makes a fresh body
        for each attempt (an open file cannot be sent twice).
        """
        url = path if path.startswith(("http://", "https://")) else self.base + path
        deadline = time.monotonic() + window
        attempt = 0
        while True:
            if data_factory is not None:
                kwargs["data"] = data_factory()
            status, away = None, False
            try:
                response = self.session.request(method, url, timeout=timeout or self.timeout, **kwargs)
            except requests.RequestException as error:
                problem: str = f"{type(error).__name__}: {error}"
                retry_after = 0.0
                away = isinstance(error, requests.ConnectionError)  # a ReadTimeout is not one: slow, not away
            else:
                status = response.status_code
                if status != 429 and status < 500:
                    return _checked(response, conflict)
                problem = f"HTTP {status} {_message(response)}"
                retry_after = _retry_after(response)
            finally:
                body = kwargs.get("data")
                if data_factory is not None and hasattr(body, "close"):
                    body.close()
            delay = max(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)], retry_after)
            if time.monotonic() + delay > deadline:
                raise ServerUnreachableError(f"the tracking server at {self.base} did not answer: {problem}", status, away)
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        self.session.close()


def base_url(host: str) -> str:
    """``host`` as a base URL (``tracking:8080`` -> ``http://tracking:8080``).

    >>> base_url("tracking:8080/")
    'http://tracking:8080'
    """
    host = host.strip().rstrip("/")
    return host if "://" in host else f"http://{host}"


def spool_directory(directory: str | os.PathLike, host: str) -> Path:
    """Where batches for ``host`` wait: one spool per server, so a batch only ever goes where it was meant.

    >>> spool_directory("/runs/.trackboard", "http://tracking:8080").as_posix()
    '/runs/.trackboard/spool/tracking_8080'
    """
    where = base_url(host).split("://", 1)[1]
    name = "".join(c if c.isalnum() or c in "-." else "_" for c in where)[:100]
    return Path(directory).expanduser().resolve() / "spool" / name


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or body)[:500]
    return str(body)[:500]


def _retry_after(response: requests.Response) -> float:
    try:
        return min(float(response.headers.get("Retry-After", 0)), MAX_PAUSE_S)
    except ValueError:
        return 0.0


def _checked(response: requests.Response, conflict: type[Exception]) -> requests.Response:
    status = response.status_code
    if status < 400:
        return response
    message = _message(response)
    if status in (401, 403):
        raise AuthenticationError(f"the tracking server refused the API token ({status}): {message}")
    if status == 404:
        raise NotFoundError(message)
    if status == 409:
        raise conflict(message)
    if status in (400, 422):
        raise InvalidLogError(message)
    raise ServerError(f"the tracking server answered {status}: {message}")


# -- delivering batches ------------------------------------------------------------------------


class Sender:
    """Delivers batch bodies to the batch route in order, through the spool when the server is away."""

    def __init__(self, transport: Transport, spool: Spool, offline: bool = False) -> None:
        self.transport = transport
        self.spool = spool
        self.offline = offline
        self.lock = threading.RLock()  # one delivery or replay at a time, so order holds
        self.aliases = spool.aliases()
        self.last_problem: Exception | None = None
        self.late: list[str] = []  # refusals of spooled batches, raised by the next flush
        self._failures = 0
        self._paused_until = 0.0
        self._server_errors: dict[str, int] = {}  # spool file name -> replays answered 500
        self.window = SEND_WINDOW_S
        self.inflight: dict | None = None  # the body being sent by deliver(), for a rescue at exit

    def deliver(self, body: dict, groups: Sequence[Sequence[Record]]) -> _Failures:
        """Send one batch (or spool it); returns the records the server refused, with why."""
        with self.lock:
            if self.offline or self.paused() or not self.replay():
                self.spool.append(body)
                return []
            self.inflight = body
            try:
                result = self.post(body, self.window)
            except (ServerUnreachableError, AuthenticationError) as error:
                self.pause(error)
                self.spool.append(body)
                return []
            except TrackboardError as error:  # the batch as a whole was refused (400, 413)
                return [(record, error) for group in groups for record in group]
            finally:
                self.inflight = None
        return _refusals(result, groups)

    def replay(self, window: float | None = None, wait: bool = False,
               timeout: tuple[float, float] | None = None) -> bool:
        """Send the spooled batches in order; True when the spool is empty.

        ``window``: how long to retry each batch; ``wait``: wait for another process's replay to end
        instead of giving up at once; ``timeout``: (connect, read) seconds of each request.
        """
        with self.lock:
            if not self.spool.has_pending():
                return True
            if self.offline:
                return False
            with self.spool.replaying(wait=wait) as mine:
                if not mine:  # another process is replaying; our batches wait behind its
                    return False
                for path in self.spool.pending():
                    try:
                        body = self.spool.read(path)
                    except (OSError, ValueError):  # half-copied or damaged: keep it aside
                        self.spool.set_aside(path)
                        continue
                    try:
                        result = self.post(body, self.window if window is None else window, timeout=timeout)
                    except (ServerUnreachableError, AuthenticationError) as error:
                        if self._keeps_failing(path, error):  # this batch breaks the server: not the rest
                            kept = self.spool.set_aside(path)
                            self.late.append(f"the server failed on a spooled batch {POISON_AFTER} times ({error}); "
                                             f"it is kept in {kept}, and the batches after it were sent")
                            continue
                        self.pause(error)
                        return False
                    except TrackboardError as error:
                        kept = self.spool.set_aside(path)
                        self.late.append(f"the server refused a spooled batch ({error}); it is kept in {kept}")
                        continue
                    for item in result["refused"]:
                        self.late.append(f"the server refused a spooled log: {item['message']}")
                    self.spool.done(path)
            return True

    def _keeps_failing(self, path: Path, error: Exception) -> bool:
        """Whether the server answered 500 (its own failure, not being away: 502-504, no answer)
        to this spooled batch on POISON_AFTER replays."""
        if getattr(error, "status", None) != 500:
            return False
        self._server_errors[path.name] = self._server_errors.get(path.name, 0) + 1
        return self._server_errors[path.name] >= POISON_AFTER

    def post(self, body: dict, window: float, transport: Transport | None = None,
             timeout: tuple[float, float] | None = None) -> dict:
        """POST one batch body (ids chosen offline replaced by the server's); the server's answer."""
        body = _with_aliases(body, self.aliases)
        transport = transport or self.transport
        result = transport.request("POST", "/api/trackboard/batches", json=body, window=window,
                                   timeout=timeout).json()
        learned = {mine: theirs for mine, theirs in result.get("ids", {}).items() if mine != theirs}
        if learned:
            self.aliases.update(learned)
            self.spool.add_aliases(learned)
        for name in result.get("renamed", {}).values():
            warnings.warn(f"trackboard: an experiment created offline was renamed {name!r} (the name was taken)",
                          TrackingWarning, stacklevel=2)
        self._failures, self._paused_until, self.last_problem = 0, 0.0, None
        return result

    def paused(self) -> bool:
        """Whether the server was found away recently (then the network is skipped a while)."""
        return time.monotonic() < self._paused_until

    def pause(self, error: Exception) -> None:
        """Skip the network a while: growing pauses, so a dead server costs one failed try now and then."""
        self.last_problem = error
        self._failures += 1
        self._paused_until = time.monotonic() + min(MAX_PAUSE_S, 0.5 * 2 ** min(self._failures, 8))


def _with_aliases(body: dict, aliases: dict[str, str]) -> dict:
    if not aliases:
        return body
    logs = [{**entry, "experiment_id": aliases.get(entry["experiment_id"], entry["experiment_id"])}
            for entry in body.get("logs", ())]
    ops = [{key: aliases.get(value, value) if key in ("id", "project_id", "experiment_id") else value
            for key, value in op.items()} for op in body.get("ops", ())]
    return {**body, "logs": logs, "ops": ops}


def _refusals(result: dict, groups: Sequence[Sequence[Record]]) -> _Failures:
    errors = {404: NotFoundError, 409: LogTypeConflictError}
    failures: _Failures = []
    for item in result["refused"]:
        error = errors.get(item["status"], InvalidLogError)(item["message"])
        failures.extend((record, error) for record in groups[item["index"]])
    return failures


# -- the backend -------------------------------------------------------------------------------


class RemoteBackend:
    """The Backend protocol against a tracking server (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.host:
            raise TrackboardError("a remote backend needs a host (TRACKBOARD_HOST)")
        self.settings = settings
        self.host = base_url(settings.host)
        self.offline = settings.mode == "offline"
        self.spool = Spool(spool_directory(settings.directory, self.host))
        self._start()

    def _start(self) -> None:
        self._calls = Transport(self.host, self.settings.api_token)  # caller threads
        self.sender = Sender(Transport(self.host, self.settings.api_token), self.spool, self.offline)
        self._organization: tuple[str, str] | None = None
        # Rows of projects and experiments created while the server was away, by id.
        self._provisional: dict[str, dict] = {}
        self._asked: set[tuple[str, str]] = set()  # (project id, name) looked up while offline
        self._exiting = False
        self.writer = _Writer(self._sink, name="trackboard-remote-writer")
        self.put = self.writer.put
        self.heartbeat = Heartbeat(self.beat)

    # -- writing ----------------------------------------------------------------------------

    def _sink(self, records: Iterable[Record]) -> _Failures:
        failures: _Failures = []
        for batch in wire.batches(records):
            failures.extend(self.sender.deliver(batch.body(), batch.groups))
        return failures

    def flush(self, timeout: float | None = None) -> None:
        """Return when the server acknowledged everything logged so far.

        Raises WriteError for records it refused, and FlushTimeoutError (saying where the spool is)
        when the server could not be reached in time: within ``timeout`` seconds, or without one,
        within FLUSH_TIMEOUT_S while it answers slowly and GIVE_UP_S while it refuses connections.
        Offline, returns once everything is in the spool.
        """
        patient = timeout is not None
        timeout = FLUSH_TIMEOUT_S if timeout is None else timeout
        if self._exiting:
            timeout, patient = min(timeout, EXIT_GRACE_S), False
        started = time.monotonic()
        deadline = started + timeout
        try:
            self.writer.flush(timeout)
        except FlushTimeoutError as error:
            if self._exiting:
                self._rescue()
            raise FlushTimeoutError(f"{error}: {self._problem()}. What the server does not acknowledge is kept in "
                                    f"{self.spool.directory} and sent by the next successful send or by "
                                    "`trackboard sync`") from None
        self._raise_late()
        if self.offline:
            return
        # Without a timeout, one try may not hang on a stalled connection for the whole read timeout.
        attempt_s = READ_TIMEOUT_S if patient else 2 * GIVE_UP_S
        while not self._replay_until(min(deadline, time.monotonic() + attempt_s)):
            now = time.monotonic()
            # At exit one more try is enough: the data is safe on disk and the job should end. A
            # server that is away is given up on sooner than one that answers slowly.
            if now >= deadline or self._exiting or (not patient and now - started >= GIVE_UP_S and not self._slow()):
                raise FlushTimeoutError(self._unsent_message(now - started))
            time.sleep(min(0.5, deadline - now))
        self._raise_late()

    def _rescue(self) -> None:
        """At exit, with the writer stuck in a request: spool what it holds and what is still queued.

        The daemon writer thread dies with the interpreter; this keeps its batch and the records
        behind it. Should the stuck request still arrive, its replay is a duplicate the server skips.
        """
        inflight = self.sender.inflight
        if inflight is not None:
            self.spool.append(inflight)
        for batch in wire.batches(self.writer.take_queued()):
            self.spool.append(batch.body())

    def _replay_until(self, deadline: float) -> bool:
        # One try per batch, no longer than the time left: this loop paces the retries.
        left = max(0.1, deadline - time.monotonic())
        return self.sender.replay(window=0.0, timeout=(min(CONNECT_TIMEOUT_S, left), min(READ_TIMEOUT_S, left)))

    def _slow(self) -> bool:
        """Whether the server's last failure says it is there but slow or busy (not refusing or down)."""
        problem = self.sender.last_problem
        return isinstance(problem, ServerUnreachableError) and not problem.away

    def _problem(self) -> str:
        problem = self.sender.last_problem
        return f"the tracking server at {self.host} is slow or away" + (f" ({problem})" if problem else "")

    def _unsent_message(self, timeout: float) -> str:
        count = len(self.spool.pending())
        why = f" ({self.sender.last_problem})" if self.sender.last_problem else ""
        return (f"the tracking server at {self.host} did not acknowledge {count} spooled batch(es) within "
                f"{timeout:.0f} s{why}. They are kept in {self.spool.directory} and are sent by the next "
                "successful send or by `trackboard sync`")

    def _raise_late(self) -> None:
        lost = self.spool.take_lost()
        if lost:
            message = (f"{lost} spooled batch(es) were deleted from {self.spool.directory} before they reached "
                       "the server: the records in them are lost")
            warnings.warn(f"trackboard: {message}", TrackingWarning, stacklevel=3)
            self.sender.late.insert(0, message)
        late, self.sender.late = self.sender.late, []
        if late:
            more = f" (and {len(late) - 1} more)" if len(late) > 1 else ""
            raise WriteError(f"{late[0]}{more}")

    def after_fork(self) -> None:
        self.writer.restart_after_fork()
        self.heartbeat.after_fork()
        self.spool.after_fork()
        provisional, asked = self._provisional, self._asked
        self._calls = Transport(self.host, self.settings.api_token)
        self.sender = Sender(Transport(self.host, self.settings.api_token), self.spool, self.offline)
        self._provisional, self._asked = provisional, asked

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush, stop the writer thread and close connections."""
        self.heartbeat.stop()
        try:
            self.writer.close(timeout)
        finally:
            self._calls.close()
            self.sender.transport.close()

    # -- HTTP helpers -----------------------------------------------------------------------

    def _id(self, some_id: str) -> str:
        return self.sender.aliases.get(some_id, some_id)

    def _get(self, path: str, **kwargs: Any) -> Any:
        return self._calls.request("GET", path, window=CALL_WINDOW_S, **kwargs).json()

    def _org(self) -> tuple[str, str]:
        """(organization id, connector id): the server's one organization, asked once."""
        if self._organization is None:
            organization = self._get("/api/home/ping")["default_organization"]
            connector = self._get(f"/api/organization/{organization}")["default_connector_id"]
            self._organization = (organization, connector)
        return self._organization

    def _ensure(self, op: dict, offline_if_exists: str) -> bool:
        """Create a project or experiment under the id in ``op`` now (True) or, the server away, later.

        Creation goes through the batch route with an id chosen here, so a retried request cannot
        create it twice, and the same operation can wait in the spool.
        """
        body = {"key": wire.new_key(), "ops": [op], "logs": []}
        if self._reachable(lambda: self.sender.post(body, CALL_WINDOW_S, transport=self._calls), lambda: None):
            return True
        with self.sender.lock:
            self.spool.append({"key": wire.new_key(), "ops": [{**op, "if_exists": offline_if_exists}], "logs": []})
        return False

    def _reachable(self, call: Callable[[], Any], fallback: Callable[[], Any]) -> Any:
        """``call()``, or ``fallback()`` when offline or the server is away (then skipped a while)."""
        if self.offline or self.sender.paused():
            return fallback()
        try:
            return call()
        except ServerUnreachableError as error:
            self.sender.pause(error)  # the writer spools at once too, instead of retrying first
            return fallback()

    # -- projects and experiments -----------------------------------------------------------

    def create_project(self, name: str, description: str | None) -> dict:
        row = {"id": str(uuid.uuid4()), "name": name, "description": description, "created_at": time.time()}
        # Created while away: a project of that name on the server is the same project.
        if not self._ensure({"op": "project", "id": row["id"], "name": name, "description": description,
                             "if_exists": "fail"}, "use"):
            self._provisional[row["id"]] = row
        return row

    def get_project(self, name: str) -> dict:
        for row in self._provisional.values():
            if "project_id" not in row and row["name"] == name:
                return row

        def offline() -> dict:
            raise UnknownWhileOfflineError(f"project {name!r}: {self._away()}")

        return self._reachable(lambda: self._project_find({"name": name}), offline)

    def get_project_by_id(self, project_id: str) -> dict:
        if project_id in self._provisional:
            return self._provisional[project_id]
        return self._project_find({"id": self._id(project_id)})

    def _project_find(self, params: dict) -> dict:
        organization, _ = self._org()
        return self._get(f"/api/organization/{organization}/projects/find", params=params)

    def list_projects(self) -> list[dict]:
        organization, _ = self._org()
        return self._get(f"/api/organization/{organization}/projects")["items"]

    def create_experiment(self, project_id: str, name: str, description: str | None) -> dict:
        now = time.time()
        row = {"id": str(uuid.uuid4()), "project_id": project_id, "name": name, "description": description,
               "status": "RUNNING", "created_at": now, "updated_at": now, "finished_at": None}
        project = self.get_project_by_id(project_id)
        # Looked up while away, then created: that is get_or_create, so join an existing one.
        if_exists = "use" if (project_id, name) in self._asked else "new"
        if not self._ensure({"op": "experiment", "id": row["id"], "name": name, "description": description,
                             "project_id": self._id(project_id), "project_name": project["name"],
                             "if_exists": "fail"}, if_exists):
            self._provisional[row["id"]] = row
        return row

    def get_experiment(self, project_id: str, name: str) -> dict:
        for row in self._provisional.values():
            if row.get("project_id") == project_id and row["name"] == name:
                return row

        def offline() -> dict:
            self._asked.add((project_id, name))
            raise UnknownWhileOfflineError(f"experiment {name!r}: {self._away()}")

        if project_id in self._provisional:  # a project the server has not seen yet
            return offline()
        return _run_row(self._reachable(
            lambda: self._get(f"/api/project/{self._id(project_id)}/experiments/find", params={"name": name}), offline
        ))

    def get_experiment_by_id(self, experiment_id: str) -> dict:
        provisional = self._provisional.get(experiment_id)
        if provisional is None:
            return _run_row(self._get(f"/api/experiment/{self._id(experiment_id)}"))

        def fetch() -> dict:
            try:
                return _run_row(self._get(f"/api/experiment/{self._id(experiment_id)}"))
            except NotFoundError:  # its creation still waits in the spool
                return provisional

        return self._reachable(fetch, lambda: provisional)

    def list_experiments(self, project_id: str) -> list[dict]:
        return [_run_row(row) for row in self._get(f"/api/project/{self._id(project_id)}/experiments")["items"]]

    def beat(self, experiment_ids: list[str], pid: int, hostname: str, interval: float) -> None:
        """The heartbeat (see trackboard/heartbeat.py); offline, there is nobody to tell."""
        ids = [self._id(i) for i in experiment_ids if i not in self._provisional]
        if self.offline or not ids:
            return
        self._calls.request("POST", "/api/trackboard/heartbeat", window=1.0,
                            json={"ids": ids, "pid": pid, "hostname": hostname, "interval": interval})

    def rewind(self, experiment_id: str, step: float) -> None:
        self.flush()  # the points logged before the rewind reach the server first
        self._calls.request("POST", f"/api/trackboard/experiments/{self._id(experiment_id)}/rewind",
                            json={"step": step}, window=CALL_WINDOW_S)

    def set_status(self, experiment_id: str, status: str) -> None:
        provisional = self._provisional.get(experiment_id)
        if provisional is not None:
            provisional["status"] = status

        def patch(window: float = CALL_WINDOW_S, timeout: tuple[float, float] | None = None) -> bool:
            try:
                self._calls.request("PATCH", f"/api/experiment/{self._id(experiment_id)}",
                                    json={"status": status}, window=window, timeout=timeout)
                return True
            except NotFoundError:
                if provisional is None:
                    raise
                return False

        if self._exiting:  # one quick try: a server that stalls must not hold a finished job
            try:
                if patch(0.5, (1.0, 2.0)):
                    return
            except Exception:  # noqa: BLE001 - away: the spool keeps the status for `trackboard sync`
                pass
        elif self._reachable(patch, lambda: False):
            return
        # Away, or created offline and not on the server yet: after its logs, in the spool.
        op = {"op": "status", "experiment_id": experiment_id, "status": status}
        with self.sender.lock:
            self.spool.append({"key": wire.new_key(), "ops": [op], "logs": []})

    def _away(self) -> str:
        if self.offline:
            return "TRACKBOARD_MODE is offline, so whether it exists on the server is unknown"
        return f"the tracking server at {self.host} is unreachable, so whether it exists is unknown"

    # -- logs -------------------------------------------------------------------------------

    def log_kinds(self, experiment_id: str) -> dict[str, tuple[LogType, bool | None]]:
        """Known logs, so log() can refuse a type conflict at once; {} when the server is away."""
        if experiment_id in self._provisional:
            return {}

        def fetch() -> dict:
            try:
                return self._get(f"/api/trackboard/experiments/{self._id(experiment_id)}/kinds")["kinds"]
            except NotFoundError:
                return {}

        # Away: {} (the server checks conflicts too, when the records arrive).
        kinds = self._reachable(fetch, dict)
        return {name: (LogType(kind["type"]), kind["named"]) for name, kind in kinds.items()}

    def get_log(self, experiment_id: str, name: str) -> tuple[LogType, Any]:
        self.flush()  # a read sees every earlier log
        answer = self._get(f"/api/trackboard/experiments/{self._id(experiment_id)}/log", params={"name": name})
        log_type = LogType(answer["type"])
        if log_type is LogType.LINE:
            from .store.sql import line_data

            return log_type, line_data(wire.unpack_points(answer["series"]))
        return log_type, wire.loads_data(answer["data_json"])

    def list_logs(self, experiment_id: str) -> list[dict]:
        self.flush()
        rows = self._get(f"/api/trackboard/experiments/{self._id(experiment_id)}/logs")
        return [{**row, "type": LogType(row["type"])} for row in rows]

    def delete_log(self, experiment_id: str, name: str) -> None:
        self.flush()
        self._calls.request("DELETE", f"/api/trackboard/experiments/{self._id(experiment_id)}/log",
                            params={"name": name}, window=CALL_WINDOW_S)

    def read_blob(self, sha256: str) -> bytes:
        return self._calls.request("GET", f"/api/trackboard/blobs/{sha256}", window=CALL_WINDOW_S).content

    def has_blob(self, sha256: str) -> bool:
        return self._reachable(lambda: bool(self._get(f"/api/trackboard/blobs/{sha256}/exists")["exists"]),
                               lambda: False)

    # -- run queries, tags and notes (server/api/runs.py) ------------------------------------

    def search_experiments(self, project_id: str, filter=None, order_by=None, max_results=None) -> list[dict]:
        self.flush()  # a query sees every earlier log
        if isinstance(order_by, str):
            order_by = [order_by]
        params = {"filter": filter, "order_by": list(order_by or ()), "max_results": max_results}
        answer = self._get(f"/api/trackboard/projects/{self._id(project_id)}/experiments",
                           params={key: value for key, value in params.items() if value not in (None, [])})
        return answer["items"]

    def experiment_summaries(self, experiment_ids: list[str]) -> dict[str, dict]:
        self.flush()
        ids = [self._id(experiment_id) for experiment_id in experiment_ids]
        answer = self._calls.request("POST", "/api/trackboard/summaries", json={"ids": ids}, window=CALL_WINDOW_S).json()
        by_server_id = wire.loads_data(answer["summaries_json"], "summaries_json")
        return {experiment_id: by_server_id[server_id] for experiment_id, server_id in zip(experiment_ids, ids)}

    def get_tags(self, experiment_id: str) -> list[str]:
        return self._get(f"/api/trackboard/experiments/{self._id(experiment_id)}/tags")["tags"]

    def add_tags(self, experiment_id: str, tags: list[str]) -> None:
        self._calls.request("POST", f"/api/trackboard/experiments/{self._id(experiment_id)}/tags",
                            json={"add": list(tags)}, window=CALL_WINDOW_S)

    def remove_tags(self, experiment_id: str, tags: list[str]) -> None:
        self._calls.request("POST", f"/api/trackboard/experiments/{self._id(experiment_id)}/tags",
                            json={"remove": list(tags)}, window=CALL_WINDOW_S)

    def update_experiment(self, experiment_id: str, name: str | None = None, description: str | None = None) -> dict:
        body = {key: value for key, value in (("name", name), ("description", description)) if value is not None}
        return self._calls.request("PATCH", f"/api/experiment/{self._id(experiment_id)}", json=body,
                                   window=CALL_WINDOW_S).json()

    def delete_experiment(self, experiment_id: str) -> None:
        self.flush()  # nothing queued for it lands after it is gone
        self._calls.request("DELETE", f"/api/experiment/{self._id(experiment_id)}", window=CALL_WINDOW_S)

    # -- artifacts --------------------------------------------------------------------------

    def add_artifact(self, experiment_id: str, name: str, path: str | os.PathLike) -> dict:
        """Upload through the same signed-URL flow as the picsellia SDK, replacing any of that name."""
        if self.offline:
            raise ServerError(f"artifact {name!r}: storing a file needs the tracking server; "
                              "TRACKBOARD_MODE is offline")
        if experiment_id in self._provisional:
            self.flush()  # the experiment must exist on the server first
        path = Path(path)
        organization, connector = self._org()
        experiment_id = self._id(experiment_id)
        object_name = self._calls.request(
            "POST", f"/api/organization/{organization}/connector/{connector}/generate_object_name",
            json={"filename": path.name, "type": "ARTIFACT", "context": {"experiment_id": experiment_id}},
            window=CALL_WINDOW_S,
        ).json()["object_name"]
        presigned = self._calls.request("POST", f"/api/object-storage/{connector}/generate_presigned_url",
                                        json={"object_name": object_name}, window=CALL_WINDOW_S).json()
        url = presigned["presigned_url_data"]["url"]
        # The URL carries its own signature: do not send the token along.
        self._calls.request("PUT", url, data_factory=lambda: open(path, "rb"), window=SEND_WINDOW_S,
                            headers={"Authorization": None, "Content-Type": "application/octet-stream"},
                            timeout=(CONNECT_TIMEOUT_S, 300.0))
        return self._calls.request(
            "POST", f"/api/experiment/{experiment_id}/artifacts", params={"replace": "true"},
            json={"name": name, "filename": path.name, "object_name": object_name, "large": False},
            window=CALL_WINDOW_S,
        ).json()

    def get_artifact(self, experiment_id: str, name: str) -> dict:
        return self._get(f"/api/experiment/{self._id(experiment_id)}/artifacts/find", params={"name": name})

    def list_artifacts(self, experiment_id: str) -> list[dict]:
        return self._get(f"/api/experiment/{self._id(experiment_id)}/artifacts")["items"]

    def download_artifact(self, experiment_id: str, artifact: dict, target: Path) -> None:
        response = self._calls.request("GET", f"/api/trackboard/blobs/{artifact['sha256']}", window=CALL_WINDOW_S,
                                       stream=True, timeout=(CONNECT_TIMEOUT_S, 300.0))
        with response, open(target, "wb") as out:
            for block in response.iter_content(1 << 20):
                out.write(block)


class _Writer(BackgroundWriter):
    """The background writer; ``take_queued`` takes what it has not started on (for ``_rescue``)."""


# -- one backend per server, directory and mode, per process ---------------------------------

_live: "weakref.WeakSet[RemoteBackend]" = weakref.WeakSet()  # for the exit grace below


def _run_row(row: dict) -> dict:
    """An experiment row of the picsellia routes with trackboard's status (CRASHED kept)."""
    run_status = row.pop("run_status", None)
    if run_status:
        row["status"] = run_status
    return row


def remote_backend(settings: Settings) -> RemoteBackend:
    """The process's backend for this server, token, store directory and mode (one writer thread)."""
    key = ("remote", base_url(settings.host), settings.api_token,
           str(Path(settings.directory).expanduser().resolve()), settings.mode)

    def open_backend() -> RemoteBackend:
        backend = RemoteBackend(settings)
        _live.add(backend)
        return backend

    return shared_backend(key, open_backend)


def release(backend: RemoteBackend, timeout: float | None = 30.0) -> None:
    """Flush and close a remote backend, and forget it (a later Client opens a new one)."""
    close_backend(backend, timeout)


@atexit.register
def _mark_exiting() -> None:
    # Registered after backend.py's exit flush, so it runs first: that flush then waits at most
    # EXIT_GRACE_S instead of holding a finished job for minutes when the server is away.
    for backend in list(_live):
        backend._exiting = True
        backend.sender.window = min(backend.sender.window, 1.0)


# -- trackboard sync ---------------------------------------------------------------------------


def sync(host: str | None = None, api_token: str | None = None, directory: str | None = None,
         out: Any = None) -> int:
    """Send what the spool in ``directory`` holds, in order; 0 when all of it was acknowledged.

    >>> sync(host="http://tracking:8080", api_token=token)   # doctest: +SKIP
    """
    out = out or sys.stderr
    settings = resolve(api_token, host, directory, "online")
    if not settings.host:
        print("trackboard sync: no server: pass --host or set TRACKBOARD_HOST", file=out)
        return 2
    spool = Spool(spool_directory(settings.directory, settings.host))
    pending = spool.pending()
    if not pending:
        print(f"trackboard sync: nothing to send in {spool.directory}", file=out)
        return 0
    sender = Sender(Transport(settings.host, settings.api_token), spool)
    sent = sender.replay(window=60.0, wait=True)
    left = len(spool.pending())
    for message in sender.late:
        print(f"trackboard sync: {message}", file=out)
    if not sent or left:
        why = f": {sender.last_problem}" if sender.last_problem else ""
        print(f"trackboard sync: {left} batch(es) still in {spool.directory}{why}", file=out)
        return 1
    print(f"trackboard sync: sent {len(pending)} batch(es) to {settings.host}", file=out)
    return 1 if sender.late else 0


__all__ = ["RemoteBackend", "remote_backend", "release", "sync", "ServerUnreachableError", "UnknownWhileOfflineError"]

