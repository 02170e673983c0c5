"""Batched decoding for the embedded backend: many requests, decoded together.

Requests are grouped by the prompt start they share (one trial's cases share the
instruction and demos); each group's shared prefix is evaluated once. A group is dealt
to a few workers (:mod:`autotune.llm._llama_worker`), one llama.cpp context each on the
loaded weights, that decode side by side in threads with one CPU thread apiece: every
core works without llama.cpp's multi-thread barriers, which stall badly on a machine
shared with other work (see :mod:`autotune.llm._threads`). Workers other than the first
copy the prefix's KV state instead of evaluating it again.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Any

from autotune.llm._llama_sequence import Job
from autotune.llm._llama_worker import Worker
from autotune.llm.types import Completion

MAX_SEQUENCES = 32
MAX_WORKERS = 4
# KV memory the engine may use (f16 K and V for every cell of every stream).
KV_BUDGET_BYTES = 384 * 2**20
_STREAM_STEP = 256  # stream sizes are multiples of llama.cpp's cell padding
_SLACK = 4  # tokens past max_tokens a UTF-8 character may need (the multibyte fix)
_GROUP_PREFIX = 16  # shared prompt tokens (past a chat template's first few) that make a group


@dataclass
class PrefixStats:
    """How often a group's shared prefix was already resident (call ordering at work)."""

    groups: int = 0
    jobs: int = 0
    prefix_tokens: int = 0
    """Shared-prefix tokens the groups needed."""
    prefix_evaluated: int = 0
    """Of those, the tokens that were not resident and had to be evaluated."""


class BatchEngine:
    """Decodes batches of jobs; call :meth:`run` under the model's lock."""

    def __init__(self, llama: Any, n_ctx: int, workers: int | None = None) -> None:
        import llama_cpp

        self._n_ctx = n_ctx
        self._token_bytes = _kv_bytes_per_token(llama_cpp, llama.model)
        count = workers or min(MAX_WORKERS, os.cpu_count() or 1)
        self._workers = [Worker(llama_cpp, llama) for _ in range(max(1, count))]
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=len(self._workers), thread_name_prefix="autotune-llama"
        )
        self.stats = PrefixStats()

    def holds_prefix_of(self, job: Job) -> bool:
        """Whether the resident prefix is the start of ``job``'s prompt (more than a chat
        template's first tokens): then the job costs only its suffix here."""
        resident = self._workers[0].resident
        return _GROUP_PREFIX <= len(resident) < len(job.tokens) and (
            job.tokens[: len(resident)] == resident
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for worker in self._workers:
            worker.close()

    def run(self, jobs: Seq[Job], model_id: str) -> list[Completion | Exception]:
        """Each job's completion (or the error that ended its chunk), in order."""
        self._ensure_contexts(jobs)
        outcomes: list[Completion | Exception | None] = [None] * len(jobs)
        for group in _prefix_groups(jobs):
            prefix = self._group_prefix([jobs[i] for i in group])
            # Dealt by suffix length, so each worker's chunks hold equal lengths together.
            ordered = sorted(group, key=lambda i: len(jobs[i].tokens))
            parts = [ordered[k :: len(self._workers)] for k in range(len(self._workers))]
            parts = [part for part in parts if part]
            self._share_prefix(prefix, len(parts), len(group))
            futures = [
                self._pool.submit(worker.run, [jobs[i] for i in part], prefix, model_id)
                for worker, part in zip(self._workers, parts, strict=False)
            ]
            for part, future in zip(parts, futures, strict=True):
                for index, outcome in zip(part, future.result(), strict=True):
                    outcomes[index] = outcome
        return [o if o is not None else RuntimeError("batch lost a request") for o in outcomes]

    def _group_prefix(self, group: list[Job]) -> tuple[int, ...]:
        """The prefix a group shares; a lone job that starts with the resident prefix
        keeps just that resident (its own suffix would evict the rest of it)."""
        if len(group) == 1 and self.holds_prefix_of(group[0]):
            return self._workers[0].resident
        return _common_prefix([job.tokens for job in group])

    def _share_prefix(self, prefix: tuple[int, ...], count: int, jobs: int) -> None:
        """The first worker evaluates ``prefix`` (what is not resident yet); the others
        copy its KV state."""
        first = self._workers[0]
        self.stats.groups += 1
        self.stats.jobs += jobs
        self.stats.prefix_tokens += len(prefix)
        self.stats.prefix_evaluated += first.make_resident(prefix)
        state: bytes | None = None
        for worker in self._workers[1:count]:
            if worker.resident != prefix:
                state = first.resident_state() if state is None else state
                worker.load_resident(prefix, state)

    def _ensure_contexts(self, jobs: Seq[Job]) -> None:
        need = max(min(len(j.tokens) + j.max_tokens + _SLACK, self._n_ctx) for j in jobs)
        stream_len = -(-need // _STREAM_STEP) * _STREAM_STEP
        per_worker = KV_BUDGET_BYTES // len(self._workers)
        fit = per_worker // (stream_len * self._token_bytes)
        wanted = -(-MAX_SEQUENCES // len(self._workers)) + 1  # + stream 0, the prefix
        streams = max(2, min(wanted, fit))
        for worker in self._workers:
            worker.ensure_context(stream_len, streams)


def _prefix_groups(jobs: Seq[Job]) -> list[list[int]]:
    """Job indices grouped by shared prompt start (two evaluations' calls may meet in one
    batch); each group gets its own resident prefix."""
    order = sorted(range(len(jobs)), key=lambda i: jobs[i].tokens)
    groups: list[list[int]] = []
    for index in order:
        if groups:
            first = jobs[groups[-1][0]].tokens
            if len(_common_prefix([first, jobs[index].tokens], cap=False)) >= _GROUP_PREFIX:
                groups[-1].append(index)
                continue
        groups.append([index])
    return groups


def _common_prefix(token_lists: Seq[Seq[int]], cap: bool = True) -> tuple[int, ...]:
    """The tokens all lists start with; with ``cap``, one short of the shortest list so
    every request keeps a suffix to evaluate (its last token's logits are needed)."""
    if not token_lists:
        return ()
    first = token_lists[0]
    limit = min(len(tokens) for tokens in token_lists) - (1 if cap else 0)
    length = 0
    while length < limit and all(tokens[length] == first[length] for tokens in token_lists):
        length += 1
    return tuple(first[:length])


def _kv_bytes_per_token(c: Any, model: Any) -> int:
    """Bytes of f16 K and V of one token over all layers (for the memory budget)."""
    layers = int(c.llama_model_n_layer(model))
    heads, kv_heads = int(c.llama_model_n_head(model)), int(c.llama_model_n_head_kv(model))
    head_dim = int(c.llama_model_n_embd(model)) // max(1, heads)
    return max(1, 2 * layers * head_dim * max(1, kv_heads) * ctypes.sizeof(ctypes.c_uint16))
