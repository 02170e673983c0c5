"""Where a study lives: one URL names an Optuna storage.

=============================================  ==========================================
URL                                            storage (for)
=============================================  ==========================================
(none)                                         SQLite at ``mlruns/optuna.db`` (one host)
``sqlite:///path/study.db``                    SQLite (a few processes on one host)
``postgresql://user:pw@host:5432/db``          PostgreSQL through psycopg 3 (many hosts)
``mysql+pymysql://...`` and other SQLAlchemy   any database Optuna's RDBStorage supports
``journal:///path/study.log``                  Optuna's JournalStorage in a file: several
                                               processes on one host, no database
``redis://host:6379/0``                        JournalStorage in Redis (many hosts)
``grpc://host:13000``                          a ``autotune storage-proxy`` in front of a
                                               database (very many workers)
``:memory:``                                   in memory, gone with the process
=============================================  ==========================================

Paths follow SQLAlchemy's SQLite rule: ``journal:///rel/x.log`` is relative,
``journal:////abs/x.log`` absolute. Creating the tables is safe when several processes
start at once (:mod:`autotune._dblock`). A worker that dies leaves its trials RUNNING;
:func:`beating` records a heartbeat while a trial runs and :func:`fail_stale_trials`
fails the trials whose heartbeat stopped, whichever host ran them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import FrozenTrial, TrialState

from autotune._dblock import first_line, masked, retry_creation, schema_lock
from autotune.errors import StoreError
from autotune.stores import check_optuna_storage, sqlite_path

DEFAULT_STORAGE_FILE = Path("mlruns") / "optuna.db"
MEMORY = ":memory:"
_BEAT_ATTR = "autotune:heartbeat"  # writer's clock, for storages without a heartbeat table
_log = logging.getLogger(__name__)
# Optuna warns at every ask() that heartbeats are meant for Study.optimize; autotune asks
# and tells itself and records heartbeats with :func:`beating`.
warnings.filterwarnings(
    "ignore", message="Heartbeat of storage is supposed to be used", category=UserWarning
)

StaleCallback = Callable[[optuna.Study, FrozenTrial], None]


@dataclass(frozen=True)
class Heartbeat:
    """How a dead worker is noticed.

    A running trial records a heartbeat every ``interval_s`` seconds; a RUNNING trial with
    no heartbeat for ``grace_s`` seconds is failed by the next worker that looks, and
    ``on_stale`` (e.g. Optuna's ``RetryHeartbeatStaleTrialCallback``) is called for it.
    """

    interval_s: int = 30
    grace_s: int = 90
    on_stale: StaleCallback | None = None

    def __post_init__(self) -> None:
        if self.interval_s < 1 or self.grace_s <= self.interval_s:
            raise ValueError("heartbeat needs interval_s >= 1 and grace_s > interval_s")


def default_storage_url() -> str:
    """SQLite under ``mlruns/`` in the working directory."""
    return f"sqlite:///{DEFAULT_STORAGE_FILE.resolve()}"


def storage_kind(url: str | None) -> str:
    """``sqlite``, ``postgresql``, ``mysql``..., ``journal``, ``redis``, ``grpc`` or ``memory``."""
    if not url:
        return "sqlite"
    if url == MEMORY:
        return "memory"
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    return "redis" if scheme == "rediss" else scheme


def display_url(url: str | None) -> str:
    """The URL as it may be printed or logged: any password masked."""
    return masked(url) if url else default_storage_url()


def check_storage(url: str | None = None) -> None:
    """The soundness checks of :mod:`autotune.stores` (an empty or corrupt SQLite file),
    under the schema lock, so a store another worker is creating is not taken for empty.
    """
    url = url or default_storage_url()
    with schema_lock(url):
        check_optuna_storage(url)


def open_storage(
    url: str | None = None,
    *,
    heartbeat: Heartbeat | None = Heartbeat(),
    timeout_s: float = 10.0,
) -> optuna.storages.BaseStorage:
    """The storage ``url`` names, its tables created if new; pass it to ``optuna.create_study``.

    ``heartbeat=None`` turns heartbeats off; ``timeout_s`` bounds the wait for a Redis
    server or storage proxy. Raises :class:`StoreError` in one line when the storage
    cannot be reached or its driver is missing.
    """
    url = url or default_storage_url()
    kind = storage_kind(url)
    if kind == "memory":
        return optuna.storages.InMemoryStorage()
    with warnings.catch_warnings():  # heartbeats, journal and gRPC are "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if kind == "journal":
            return _journal_file(url, heartbeat)
        if kind == "redis":
            return _journal_redis(url, heartbeat, timeout_s)
        if kind == "grpc":
            return _grpc_proxy(url, heartbeat, timeout_s)
        return _rdb(url, heartbeat)


def _rdb(url: str, heartbeat: Heartbeat | None) -> optuna.storages.BaseStorage:
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite:"):
        # Several processes share one SQLite file: wait for a writer instead of failing.
        engine_kwargs = {"connect_args": {"timeout": 60}}
        file = sqlite_path(url)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
    beat: dict[str, Any] = {}
    if heartbeat is not None:
        beat = {
            "heartbeat_interval": heartbeat.interval_s,
            "grace_period": heartbeat.grace_s,
            "heartbeat_stale_trial_callback": heartbeat.on_stale,
        }
    try:
        with schema_lock(url):
            check_optuna_storage(url)  # under the lock: a file being created is not "empty"
            storage = retry_creation(lambda: _RDBStorage(url, engine_kwargs=engine_kwargs, **beat))
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"{masked(url)}: not a storage URL ({first_line(exc)})") from exc
    except ImportError as exc:
        raise StoreError(f"{masked(url)}: {_missing_driver(url, exc)}") from exc
    except DBAPIError as exc:
        raise StoreError(f"{masked(url)}: {first_line(exc)}") from exc
    if url.startswith("sqlite:"):
        _serializable_sqlite(storage.engine)
    return storage


def _serializable_sqlite(engine: Any) -> None:
    """Make every SQLite transaction BEGIN IMMEDIATE (SQLAlchemy's pysqlite recipe).

    pysqlite starts a transaction only at the first write, so two processes can both
    read a WAITING trial and both set it RUNNING: one trial run twice. An immediate
    transaction takes the write lock before reading (others wait up to the busy
    timeout), which makes Optuna's pop of a waiting trial atomic, as on PostgreSQL.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # pooled connections predate the hooks


def _missing_driver(url: str, exc: ImportError) -> str:
    if url.startswith("postgresql"):
        return "the PostgreSQL driver is missing: pip install 'autotune[postgres]'"
    return f"its database driver is missing ({first_line(exc)})"


def _path_of(url: str, scheme: str) -> Path:
    rest = url[len(scheme) + 3 :]  # after "scheme://"
    if not rest.startswith("/") or len(rest) < 2:
        raise StoreError(f"{url}: write {scheme}:///relative/file or {scheme}:////absolute/file")
    return Path(rest[1:])


class _AttrHeartbeat(BaseHeartbeat):  # type: ignore[misc]
    """Heartbeats kept as a trial system attribute, for storages without a heartbeat table.

    The time is the writing worker's clock: hosts must agree within the grace period (NTP).
    """

    _heartbeat: Heartbeat | None = None

    def record_heartbeat(self, trial_id: int) -> None:
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            self.set_trial_system_attr(trial_id, _BEAT_ATTR, time.time())  # type: ignore[attr-defined]

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        assert self._heartbeat is not None
        now, grace = time.time(), self._heartbeat.grace_s
        running = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))  # type: ignore[attr-defined]
        return [
            trial._trial_id
            for trial in running
            if now - float(trial.system_attrs.get(_BEAT_ATTR, _started(trial, now))) > grace
        ]

    def get_heartbeat_interval(self) -> int | None:
        return None if self._heartbeat is None else self._heartbeat.interval_s

    def get_heartbeat_stale_trial_callback(self) -> StaleCallback | None:
        return None if self._heartbeat is None else self._heartbeat.on_stale


def _started(trial: FrozenTrial, default: float) -> float:
    """When a trial became RUNNING (the popping worker's clock), as epoch seconds."""
    return trial.datetime_start.timestamp() if trial.datetime_start else default


class _RDBStorage(optuna.storages.RDBStorage):  # type: ignore[misc]
    """Optuna's RDBStorage, whose stale trials include those that never beat.

    Optuna skips a RUNNING trial without a heartbeat row: a worker killed between taking
    a trial and its first heartbeat would leave it RUNNING for ever, and the others
    waiting for it. Such a trial started more than the grace period ago is stale too.
    """

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        from optuna.storages._rdb import models

        stale = list(super()._get_stale_trial_ids(study_id))
        grace = self.grace_period or 2 * (self.heartbeat_interval or 0)
        now = time.time()
        old = [
            trial._trial_id
            for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
            if now - _started(trial, now) > grace and trial._trial_id not in stale
        ]
        if not old:
            return stale
        session = self.scoped_session()
        try:
            beat = models.TrialHeartbeatModel.trial_id
            rows = session.query(beat).filter(beat.in_(old)).all()
        finally:
            session.close()
        beating = {row[0] for row in rows}
        return stale + [trial_id for trial_id in old if trial_id not in beating]


class _JournalStorage(optuna.storages.JournalStorage, _AttrHeartbeat):  # type: ignore[misc]
    def __init__(self, backend: Any, heartbeat: Heartbeat | None) -> None:
        super().__init__(backend)
        self._heartbeat = heartbeat


class _GrpcProxy(optuna.storages.GrpcStorageProxy, _AttrHeartbeat):  # type: ignore[misc]
    def __init__(self, host: str, port: int, heartbeat: Heartbeat | None) -> None:
        super().__init__(host=host, port=port)
        self._heartbeat = heartbeat


def _journal_file(url: str, heartbeat: Heartbeat | None) -> optuna.storages.BaseStorage:
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = _path_of(url, "journal")
    path.parent.mkdir(parents=True, exist_ok=True)
    # The open lock (O_EXCL create) works on local disks, NFS and Windows alike.
    backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
    return _JournalStorage(backend, heartbeat)


def _journal_redis(
    url: str, heartbeat: Heartbeat | None, timeout_s: float
) -> optuna.storages.BaseStorage:
    try:
        import redis
    except ImportError as exc:
        raise StoreError(f"{masked(url)}: Redis needs pip install 'autotune[redis]'") from exc
    from optuna.storages.journal import JournalRedisBackend

    try:
        redis.Redis.from_url(url, socket_connect_timeout=timeout_s).ping()
    except redis.RedisError as exc:
        raise StoreError(f"{masked(url)}: {first_line(exc)}") from exc
    return _JournalStorage(JournalRedisBackend(url), heartbeat)


def _grpc_proxy(
    url: str, heartbeat: Heartbeat | None, timeout_s: float
) -> optuna.storages.BaseStorage:
    from urllib.parse import urlsplit

    if importlib.util.find_spec("grpc") is None:
        raise StoreError(f"{url}: the gRPC proxy needs pip install 'autotune[grpc]'")
    parts = urlsplit(url)
    if not parts.hostname:
        raise StoreError(f"{url}: write grpc://HOST:PORT")
    proxy = _GrpcProxy(parts.hostname, parts.port or 13000, heartbeat)
    try:
        proxy.wait_server_ready(timeout=timeout_s)
    except ConnectionError as exc:
        raise StoreError(f"{url}: no storage proxy answers there ({exc})") from exc
    return proxy


def serve_proxy(url: str | None, *, host: str = "127.0.0.1", port: int = 13000) -> None:
    """Serve the storage ``url`` names to :class:`GrpcStorageProxy` clients (blocks).

    The proxy holds the database connections and a cache, so hundreds of workers cost
    the database one client. Heartbeats pass through as trial attributes.
    """
    if storage_kind(url) in ("journal", "redis", "grpc", "memory"):
        raise StoreError(f"{display_url(url)}: the proxy serves a database URL only")
    storage = optuna.storages.get_storage(open_storage(url, heartbeat=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.run_grpc_proxy_server(storage, host=host, port=port)


def _storage_of(study: optuna.Study) -> Any:
    return study._storage  # Optuna keeps the storage private; heartbeats need it


@contextlib.contextmanager
def beating(study: optuna.Study, trial: optuna.Trial | FrozenTrial) -> Iterator[None]:
    """Record ``trial``'s heartbeat in the background while the block runs."""
    storage = _storage_of(study)
    interval = storage.get_heartbeat_interval() if isinstance(storage, BaseHeartbeat) else None
    if not interval:
        yield
        return
    stop = threading.Event()
    trial_id = trial._trial_id

    def beat() -> None:
        while True:
            try:
                storage.record_heartbeat(trial_id)
            except Exception as exc:  # a database blip: the next beat may get through
                _log.warning("heartbeat of trial %s not recorded: %s", trial.number, exc)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial.number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def fail_stale_trials(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials whose heartbeat stopped; their numbers.

    Several workers may look at once: a trial another worker failed first is skipped, and
    the stale callback runs once per trial, in the worker that failed it.
    """
    storage = _storage_of(study)
    if not isinstance(storage, BaseHeartbeat) or not storage.get_heartbeat_interval():
        return []
    failed = []
    for trial_id in storage._get_stale_trial_ids(study._study_id):
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            if storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                failed.append(storage.get_trial(trial_id))
    callback = storage.get_heartbeat_stale_trial_callback()
    for trial in failed:
        if callback is not None:
            callback(study, trial)
    return [trial.number for trial in failed]
