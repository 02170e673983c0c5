"""Batched decoding for the embedded backend: many requests on one llama.cpp context.

The engine owns a second context on the loaded model (weights are shared), made with
several sequences and one KV stream per sequence (``kv_unified = false``):

- stream 0 keeps the *resident prefix*, the tokens every request of the last batch
  shared (system message, demos). A batch whose prompts start the same way evaluates
  that prefix once, or not at all when it is still resident from the previous batch;
- each request gets a stream of its own, starting as a copy of stream 0; its suffix
  (the case) is evaluated there, then all requests generate together, one token each
  per ``llama_decode``.

Separate streams matter for equality with one-at-a-time decoding: each sequence's
attention then runs over its own cells with the shapes of a single request, and the
answers are the ones ``create_chat_completion`` gives (measured: 12 of 12 identical
32-token greedy answers, against 4 of 12 with one unified KV buffer, whose batched
attention kernels change the last bits). Requests with equal suffix lengths share a
``llama_decode`` (llama.cpp splits a multi-stream batch into equal-length slices).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Sequence as Seq
from typing import Any

from autotune.errors import LLMError
from autotune.llm._llama_sequence import Job, Sequence
from autotune.llm._threads import ThreadTuner
from autotune.llm.types import Completion

MAX_SEQUENCES = 32
# KV memory the engine may use (f16 K and V for every cell of every stream).
KV_BUDGET_BYTES = 384 * 2**20
_STREAM_STEP = 256  # stream sizes are multiples of llama.cpp's cell padding
_SLACK = 4  # tokens past max_tokens a UTF-8 character may need (the multibyte fix)
_GROUP_PREFIX = 16  # shared prompt tokens (past a chat template's first few) that make a group


class BatchEngine:
    """Decodes batches of jobs on its own context; call under the model's lock."""

    def __init__(self, llama: Any, n_ctx: int, tuner: ThreadTuner) -> None:
        import llama_cpp

        self._c = llama_cpp
        self._llama = llama
        self._n_ctx = n_ctx
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self._token_bytes = _kv_bytes_per_token(llama_cpp, llama.model)
        self._ctx: Any = None
        self._stream_len = 0
        self._streams = 0
        self._n_batch = 512
        self._batch = llama_cpp.llama_batch_init(self._n_batch, 0, 1)
        self._resident: tuple[int, ...] = ()
        self._tuner = tuner
        self._threads = 0

    def close(self) -> None:
        if self._ctx is not None:
            self._c.llama_free(self._ctx)
            self._ctx = None
        if self._batch is not None:
            self._c.llama_batch_free(self._batch)
            self._batch = None

    def run(self, jobs: Seq[Job], model_id: str) -> list[Completion | Exception]:
        """Each job's completion (or the error that ended its batch), in order."""
        need = max(min(len(j.tokens) + j.max_tokens + _SLACK, self._n_ctx) for j in jobs)
        self._ensure_context(need)
        outcomes: list[Completion | Exception | None] = [None] * len(jobs)
        size = self._streams - 1
        for group in _prefix_groups(jobs):
            for start in range(0, len(group), size):
                chunk = group[start : start + size]
                try:
                    done = self._run_chunk([jobs[i] for i in chunk], model_id)
                except LLMError as exc:
                    self._reset()
                    done = [exc] * len(chunk)
                for index, outcome in zip(chunk, done, strict=True):
                    outcomes[index] = outcome
        return [o if o is not None else LLMError("batch lost a request") for o in outcomes]

    def _run_chunk(self, jobs: list[Job], model_id: str) -> list[Completion | Exception]:
        started = time.perf_counter()
        prefix = _common_prefix([job.tokens for job in jobs])
        self._make_resident(prefix)
        # Seq ids by suffix length: equal lengths are neighbours and share a decode.
        by_length = sorted(range(len(jobs)), key=lambda i: len(jobs[i].tokens))
        sequences: list[Sequence | None] = [None] * len(jobs)
        for seq_id, index in enumerate(by_length, start=1):
            sequences[index] = Sequence(jobs[index], seq_id, self._c, self._vocab)
        ordered = [sequences[i] for i in by_length]
        try:
            live = [s for s in ordered if s is not None]
            self._start(live, len(prefix))
            self._generate(live, started)
            return [self._completion(s, model_id, started) for s in sequences if s is not None]
        finally:
            for sequence in sequences:
                if sequence is not None:
                    sequence.close()

    def _start(self, sequences: list[Sequence], prefix_len: int) -> None:
        """Give every sequence the resident prefix, evaluate its suffix, sample token 1."""
        memory = self._c.llama_get_memory(self._ctx)
        for sequence in sequences:
            if prefix_len:
                self._c.llama_memory_seq_cp(memory, 0, sequence.seq_id, -1, -1)
            else:
                self._c.llama_memory_seq_rm(memory, sequence.seq_id, -1, -1)
        group: list[Sequence] = []
        for sequence in sequences:
            length = sequence.suffix_start - prefix_len
            fits = (len(group) + 1) * length <= self._n_batch
            if group and (length != group[0].suffix_start - prefix_len or not fits):
                self._suffixes(group, prefix_len)
                group = []
            group.append(sequence)
        if group:
            self._suffixes(group, prefix_len)

    def _suffixes(self, group: list[Sequence], prefix_len: int) -> None:
        """Evaluate the suffixes of ``group`` (equal lengths) and sample each one's token 1."""
        now = time.perf_counter
        if len(group) == 1 and group[0].suffix_start - prefix_len > self._n_batch:
            sequence = group[0]  # a long suffix alone, in n_batch pieces like Llama.eval
            tokens = sequence.job.tokens
            last = 0
            for begin in range(prefix_len, len(tokens), self._n_batch):
                piece = tokens[begin : begin + self._n_batch]
                chunk = [(t, begin + k, sequence.seq_id, False) for k, t in enumerate(piece)]
                chunk[-1] = (*chunk[-1][:3], begin + len(piece) == len(tokens))
                self._decode(chunk)
                last = len(chunk) - 1
            sequence.take(self._sample(sequence, last), now())
            return
        items: list[tuple[int, int, int, bool]] = []
        outputs: list[tuple[Sequence, int]] = []
        for sequence in group:
            tokens = sequence.job.tokens
            for pos in range(prefix_len, len(tokens)):
                items.append((tokens[pos], pos, sequence.seq_id, pos == len(tokens) - 1))
            outputs.append((sequence, len(items) - 1))
        self._decode(items)
        for sequence, index in outputs:
            sequence.take(self._sample(sequence, index), now())

    def _generate(self, sequences: list[Sequence], started: float) -> None:
        active = [s for s in sequences if s.pending is not None]
        while active:
            items = []
            for sequence in active:
                assert sequence.pending is not None
                items.append((sequence.pending, sequence.pos, sequence.seq_id, True))
                sequence.pos += 1
            self._decode(items)
            now = time.perf_counter()
            for index, sequence in enumerate(active):
                sequence.take(self._sample(sequence, index), now)
            active = [s for s in active if s.pending is not None]

    def _sample(self, sequence: Sequence, index: int) -> int:
        return int(self._c.llama_sampler_sample(sequence.chain, self._ctx, index))

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        batch = self._batch
        for start in range(0, len(items), self._n_batch):
            part = items[start : start + self._n_batch]
            for i, (token, pos, seq_id, logits) in enumerate(part):
                batch.token[i] = token
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq_id
                batch.logits[i] = logits
            batch.n_tokens = len(part)
            threads = self._tuner.choose(len(part))
            if threads != self._threads:
                self._c.llama_set_n_threads(self._ctx, threads, threads)
                self._threads = threads
            started = time.perf_counter()
            code = self._c.llama_decode(self._ctx, batch)
            self._tuner.record(len(part), threads, time.perf_counter() - started)
            if code != 0:
                raise LLMError(f"llama_decode failed with code {code} in a batch")

    def _make_resident(self, prefix: tuple[int, ...]) -> None:
        """Stream 0 holds ``prefix``; only what differs from the last one is evaluated."""
        keep = len(_common_prefix([self._resident, prefix], cap=False))
        memory = self._c.llama_get_memory(self._ctx)
        self._c.llama_memory_seq_rm(memory, 0, keep, -1)
        self._resident = prefix[:keep]
        rest = [(t, keep + k, 0, False) for k, t in enumerate(prefix[keep:])]
        if rest:
            self._decode(rest)
        self._resident = prefix

    def _completion(self, sequence: Sequence, model_id: str, started: float) -> Completion:
        return Completion(
            text=sequence.text,
            finish_reason=sequence.finish or "stop",
            prompt_tokens=len(sequence.job.tokens),
            completion_tokens=len(sequence.tokens),
            latency_s=max(0.0, sequence.finished_at - started),
            model=model_id,
        )

    def _ensure_context(self, need: int) -> None:
        """A context whose streams hold ``need`` tokens (made anew only when too small)."""
        stream_len = -(-need // _STREAM_STEP) * _STREAM_STEP
        if self._ctx is not None and self._stream_len >= stream_len:
            return
        streams = max(
            2, min(MAX_SEQUENCES + 1, KV_BUDGET_BYTES // (stream_len * self._token_bytes))
        )
        params = type(self._llama.context_params).from_buffer_copy(self._llama.context_params)
        params.n_ctx = stream_len * streams
        params.n_batch = params.n_ubatch = self._n_batch
        params.n_seq_max = streams
        params.kv_unified = False
        params.embeddings = False
        params.no_perf = True
        ctx = self._c.llama_init_from_model(self._llama.model, params)
        if not ctx:
            raise LLMError("llama.cpp could not create a batch context")
        if self._ctx is not None:
            self._c.llama_free(self._ctx)
        self._ctx = ctx
        self._threads = 0
        self._stream_len = int(self._c.llama_n_ctx_seq(ctx))
        self._streams = streams
        self._resident = ()

    def _reset(self) -> None:
        if self._ctx is not None:
            self._c.llama_memory_clear(self._c.llama_get_memory(self._ctx), True)
        self._resident = ()


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
    """Bytes of f16 K and V per token and layer set (for the memory budget)."""
    layers = int(c.llama_model_n_layer(model))
    heads, kv_heads = int(c.llama_model_n_head(model)), int(c.llama_model_n_head_kv(model))
    embd = int(c.llama_model_n_embd(model))
    return max(
        1, 2 * layers * (embd // max(1, heads)) * max(1, kv_heads) * ctypes.sizeof(ctypes.c_uint16)
    )
