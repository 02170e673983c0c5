"""A persistent response cache: the same request never pays twice.

Answers are stored in SQLite (WAL mode, one connection shared under a lock) keyed by a
SHA-256 of everything that decides the answer: backend, model, messages and every
sampling parameter including ``sample_index``, so the n samples of one request at
temperature > 0 stay distinct. A damaged cache file is moved aside and rebuilt with a
warning; the cache never makes a model call fail.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from autotune.llm.base import BaseLLM, LLMWrapper, Outcome, Request
from autotune.llm.stop import StopRule
from autotune.llm.types import Completion, Message, SamplingParams

logger = logging.getLogger(__name__)

DEFAULT_CACHE_PATH = Path(".autotune-cache") / "responses.sqlite"

# Applied in order, each once; their names are recorded in `_migrations` (as simonw/llm
# does), so a newer autotune can upgrade an older cache file in place.
_MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "001_responses",
        """
        CREATE TABLE responses (
            key TEXT PRIMARY KEY,
            backend TEXT NOT NULL,
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            finish_reason TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            created_at REAL NOT NULL
        )
        """,
    ),
    ("002_choice_logprobs", "ALTER TABLE responses ADD COLUMN choice_logprobs TEXT"),
)

_T = TypeVar("_T")


def cache_key(llm: BaseLLM, messages: Sequence[Message], params: SamplingParams) -> str:
    """The SHA-256 hex key of one request to one model."""
    payload = {
        "model": llm.cache_identity,
        "messages": [m.to_dict() for m in messages],
        "params": _params_key(params),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# Sampling fields added after the first cache files were written: left out of the key
# while unset, so the keys of requests that do not use them never change.
_OPTIONAL_FIELDS = frozenset({"response_schema", "grammar", "stop_rule", "choices"})


def _params_key(params: SamplingParams) -> dict[str, object]:
    """Every sampling field that decides the answer, in JSON-friendly form."""
    key: dict[str, object] = {}
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        if field.name in _OPTIONAL_FIELDS and value in (None, ()):
            continue
        key[field.name] = value.to_dict() if isinstance(value, StopRule) else value
    return key


class ResponseStore:
    """The SQLite file behind :class:`CachedLLM`; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).absolute()  # stays put if the working directory changes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._warned = False
        with self._lock:
            self._guard(self._open, default=None)

    def get(self, key: str) -> Completion | None:
        """The stored answer for ``key``, or None."""
        with self._lock:
            return self._guard(lambda: self._select(key), default=None)

    def put(self, key: str, backend: str, completion: Completion) -> None:
        """Store an answer (the first answer for a key wins)."""
        with self._lock:
            self._guard(lambda: self._insert(key, backend, completion), default=None)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def stats(self) -> CacheStats:
        """Entries, tokens and age per model, and the file's size on disk."""
        with self._lock:
            rows = self._connection().execute(
                "SELECT backend, model, COUNT(*), SUM(prompt_tokens + completion_tokens), "
                "MIN(created_at), MAX(created_at) FROM responses GROUP BY backend, model "
                "ORDER BY COUNT(*) DESC"
            )
            models = [
                ModelStats(f"{backend}:{model}", count, int(tokens or 0), oldest, newest)
                for backend, model, count, tokens, oldest, newest in rows
            ]
        size = sum(part.stat().st_size for part in _parts(self.path) if part.exists())
        return CacheStats(self.path, size, models)

    def clear(self, model: str | None = None) -> int:
        """Delete every answer (or those of ``backend:model`` ``model``); returns how many."""
        with self._lock:
            conn = self._connection()
            with conn:
                if model is None:
                    deleted = conn.execute("DELETE FROM responses").rowcount
                else:
                    backend, _, name = model.partition(":")
                    deleted = conn.execute(
                        "DELETE FROM responses WHERE backend = ? AND model = ?", (backend, name)
                    ).rowcount
            conn.execute("VACUUM")
        return int(deleted)

    def _select(self, key: str) -> Completion | None:
        row = (
            self._connection()
            .execute(
                "SELECT text, finish_reason, prompt_tokens, completion_tokens, latency_s, model, "
                "choice_logprobs FROM responses WHERE key = ?",
                (key,),
            )
            .fetchone()
        )
        if row is None:
            return None
        text, finish_reason, prompt_tokens, completion_tokens, latency_s, model, logprobs = row
        return Completion(
            text,
            finish_reason,
            prompt_tokens,
            completion_tokens,
            latency_s,
            model,
            cached=True,
            choice_logprobs=None if logprobs is None else tuple(json.loads(logprobs)),
        )

    def _insert(self, key: str, backend: str, completion: Completion) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    backend,
                    completion.model,
                    completion.text,
                    completion.finish_reason,
                    completion.prompt_tokens,
                    completion.completion_tokens,
                    completion.latency_s,
                    time.time(),
                    None
                    if completion.choice_logprobs is None
                    else json.dumps(list(completion.choice_logprobs)),
                ),
            )

    def _guard(self, operation: Callable[[], _T], default: _T) -> _T:
        """Run ``operation``; rebuild a damaged file once; on other failures skip the cache."""
        try:
            return operation()
        except sqlite3.OperationalError as exc:  # locked, read-only, disk full: not damage
            return self._unavailable(exc, default)
        except sqlite3.DatabaseError as exc:
            damage = exc
        except OSError as exc:
            return self._unavailable(exc, default)
        try:
            self._quarantine(damage)
            return operation()
        except (sqlite3.Error, OSError) as exc:
            return self._unavailable(exc, default)

    def _unavailable(self, exc: Exception, default: _T) -> _T:
        # Warn once; a cache that cannot work must not flood the log on every call.
        level = logging.DEBUG if self._warned else logging.WARNING
        logger.log(level, "response cache %s unavailable, calls go uncached: %s", self.path, exc)
        self._warned = True
        return default

    def _open(self) -> None:
        self._connection()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                _migrate(conn)
            except sqlite3.Error:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _quarantine(self, exc: sqlite3.DatabaseError) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        logger.warning(
            "response cache %s is damaged (%s); moved it to %s and starting a new one",
            self.path,
            exc,
            aside,
        )
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.replace(aside.with_name(aside.name + suffix))


@dataclasses.dataclass(frozen=True)
class ModelStats:
    """Cached answers of one model."""

    model: str
    entries: int
    tokens: int
    oldest: float
    newest: float


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """What a cache file holds."""

    path: Path
    size_bytes: int
    models: list[ModelStats]

    @property
    def entries(self) -> int:
        return sum(model.entries for model in self.models)


def _parts(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm")]


def _migrate(conn: sqlite3.Connection) -> None:
    with conn:
        conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied REAL)")
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
        for name, sql in _MIGRATIONS:
            if name not in done:
                conn.execute(sql)
                conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))


class CachedLLM(LLMWrapper):
    """Answers repeated requests from a SQLite file instead of the inner model.

    Args:
        inner: The model whose answers are cached.
        path: The SQLite file (created with its folder if missing), or a shared store.
    """

    def __init__(self, inner: BaseLLM, path: str | Path | ResponseStore = DEFAULT_CACHE_PATH):
        super().__init__(inner)
        self.store = path if isinstance(path, ResponseStore) else ResponseStore(path)

    def __repr__(self) -> str:
        return f"CachedLLM({self.inner!r}, path={str(self.store.path)!r})"

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        key = cache_key(self.inner, messages, params)
        hit = self._lookup(key)
        if hit is not None:
            return hit
        completion = self.inner.execute(messages, params)
        self.store.put(key, self.inner.backend, completion)
        return completion

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        # SQLite lookups take microseconds, so they run inline; only the model call awaits.
        key = cache_key(self.inner, messages, params)
        hit = self._lookup(key)
        if hit is not None:
            return hit
        completion = await self.inner.aexecute(messages, params)
        self.store.put(key, self.inner.backend, completion)
        return completion

    def execute_many(self, requests: Sequence[Request]) -> list[Outcome]:
        """Answers from the file where it has them; the misses go to the model as one
        batch (a request repeated within the batch is sent once)."""
        batch = _CacheBatch(self, requests)
        return batch.fill(self.inner.execute_many(batch.misses) if batch.misses else [])

    async def aexecute_many(self, requests: Sequence[Request]) -> list[Outcome]:
        batch = _CacheBatch(self, requests)
        return batch.fill(await self.inner.aexecute_many(batch.misses) if batch.misses else [])

    def _lookup(self, key: str) -> Completion | None:
        start = time.perf_counter()
        hit = self.store.get(key)
        if hit is None:
            return None
        return dataclasses.replace(hit, latency_s=time.perf_counter() - start)

    def close(self) -> None:
        self.store.close()
        super().close()


class _CacheBatch:
    """One batch through the cache: which requests are hits, which go to the model."""

    def __init__(self, cached: CachedLLM, requests: Sequence[Request]) -> None:
        self._cached = cached
        self._keys = [cache_key(cached.inner, m, p) for m, p in requests]
        self._outcomes: list[Outcome | None] = [cached._lookup(key) for key in self._keys]
        first: dict[str, int] = {}
        for index, key in enumerate(self._keys):
            if self._outcomes[index] is None:
                first.setdefault(key, index)
        self._sent = list(first.values())
        self.misses = [requests[index] for index in self._sent]

    def fill(self, answers: Sequence[Outcome]) -> list[Outcome]:
        """Store the model's answers and return every request's outcome, in order."""
        by_key: dict[str, Outcome] = {}
        for index, answer in zip(self._sent, answers, strict=True):
            key = self._keys[index]
            by_key[key] = answer
            self._outcomes[index] = answer
            if isinstance(answer, Completion):
                self._cached.store.put(key, self._cached.inner.backend, answer)
        for index, outcome in enumerate(self._outcomes):
            if outcome is None:  # a repeat of a request sent in this batch: a cache hit
                answer = by_key[self._keys[index]]
                self._outcomes[index] = (
                    dataclasses.replace(answer, cached=True, latency_s=0.0)
                    if isinstance(answer, Completion)
                    else answer
                )
        return [outcome for outcome in self._outcomes if outcome is not None]
