"""One llama.cpp context of the batch engine: its KV streams and its decoding loop.

The context is made with several sequences and one KV stream per sequence
(``kv_unified = false``). Stream 0 keeps the *resident prefix*, the tokens all requests
of the current group share (system message, demos); each request gets a stream of its
own that starts as a copy of stream 0; its suffix (the case) is evaluated there, and
then all the requests generate together, one token each per ``llama_decode``.

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
from typing import Any

from autotune.errors import LLMError
from autotune.llm._llama_sequence import Job, Sequence, choice_logprobs
from autotune.llm.types import Completion

N_BATCH = 512


class Worker:
    """One context; use it from one thread at a time."""

    def __init__(self, llama_cpp: Any, llama: Any) -> None:
        self._c = llama_cpp
        self._llama = llama
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._ctx: Any = None
        self._batch = llama_cpp.llama_batch_init(N_BATCH, 0, 1)
        self.stream_len = 0
        self.streams = 0
        self.resident: tuple[int, ...] = ()

    def close(self) -> None:
        if self._ctx is not None:
            self._c.llama_free(self._ctx)
            self._ctx = None
        if self._batch is not None:
            self._c.llama_batch_free(self._batch)
            self._batch = None

    def ensure_context(self, stream_len: int, streams: int) -> None:
        """A context of ``streams`` streams holding ``stream_len`` tokens each (made anew
        only when the current one is smaller)."""
        if self._ctx is not None and self.stream_len >= stream_len and self.streams >= streams:
            return
        source = self._llama.context_params
        params = type(source).from_buffer_copy(source)
        params.n_ctx = stream_len * streams
        params.n_batch = params.n_ubatch = N_BATCH
        params.n_seq_max = streams
        params.kv_unified = False
        params.embeddings = False
        params.no_perf = True
        params.n_threads = params.n_threads_batch = 1  # workers run side by side instead
        ctx = self._c.llama_init_from_model(self._llama.model, params)
        if not ctx:
            raise LLMError("llama.cpp could not create a batch context")
        if self._ctx is not None:
            self._c.llama_free(self._ctx)
        self._ctx = ctx
        self.stream_len = int(self._c.llama_n_ctx_seq(ctx))
        self.streams = streams
        self.resident = ()

    def make_resident(self, prefix: tuple[int, ...]) -> int:
        """Stream 0 holds ``prefix``; only what differs from the last one is evaluated
        (that many tokens are returned)."""
        keep = 0
        while keep < min(len(prefix), len(self.resident)) and prefix[keep] == self.resident[keep]:
            keep += 1
        self._c.llama_memory_seq_rm(self._memory(), 0, keep, -1)
        self.resident = prefix[:keep]
        rest = [(t, keep + k, 0, False) for k, t in enumerate(prefix[keep:])]
        if rest:
            self._decode(rest)
        self.resident = prefix
        return len(rest)

    def resident_state(self) -> bytes:
        """Stream 0's KV data, to give another worker the same prefix without evaluating it."""
        size = int(self._c.llama_state_seq_get_size(self._ctx, 0))
        buffer = (ctypes.c_uint8 * size)()
        written = int(self._c.llama_state_seq_get_data(self._ctx, buffer, size, 0))
        return bytes(buffer)[:written]

    def load_resident(self, prefix: tuple[int, ...], state: bytes) -> None:
        """Take another worker's stream 0 (holding ``prefix``); evaluate it if that fails."""
        self._c.llama_memory_seq_rm(self._memory(), 0, -1, -1)
        self.resident = ()
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if state and self._c.llama_state_seq_set_data(self._ctx, buffer, len(state), 0):
            self.resident = prefix
        else:
            self.make_resident(prefix)

    def run(
        self, jobs: list[Job], prefix: tuple[int, ...], model_id: str
    ) -> list[Completion | Exception]:
        """Each job's completion, or the error that ended its chunk; in order."""
        outcomes: list[Completion | Exception] = []
        size = self.streams - 1
        for start in range(0, len(jobs), size):
            chunk = jobs[start : start + size]
            try:
                if self.resident != prefix:
                    self.make_resident(prefix)
                outcomes += self._run_chunk(chunk, len(prefix), model_id)
            except LLMError as exc:
                self._c.llama_memory_clear(self._memory(), True)
                self.resident = ()
                outcomes += [exc] * len(chunk)
        return outcomes

    def _run_chunk(self, jobs: list[Job], prefix_len: int, model_id: str) -> list[Completion]:
        started = time.perf_counter()
        # Seq ids by suffix length: equal lengths are neighbours and share a decode.
        by_length = sorted(range(len(jobs)), key=lambda i: len(jobs[i].tokens))
        sequences: dict[int, Sequence] = {}
        try:
            for seq_id, index in enumerate(by_length, start=1):
                sequences[index] = Sequence(jobs[index], seq_id, self._c, self._vocab)
            ordered = [sequences[i] for i in by_length]
            self._start(ordered, prefix_len)
            self._generate(ordered)
            return [_completion(sequences[i], model_id, started) for i in range(len(jobs))]
        finally:
            for sequence in sequences.values():
                sequence.close()

    def _start(self, sequences: list[Sequence], prefix_len: int) -> None:
        """Give every sequence the resident prefix, evaluate its suffix, sample token 1."""
        memory = self._memory()
        for sequence in sequences:
            if prefix_len:
                self._c.llama_memory_seq_cp(memory, 0, sequence.seq_id, -1, -1)
            else:
                self._c.llama_memory_seq_rm(memory, sequence.seq_id, -1, -1)
        group: list[Sequence] = []
        for sequence in sequences:
            length = sequence.suffix_start - prefix_len
            fits = (len(group) + 1) * length <= N_BATCH
            if group and (length != group[0].suffix_start - prefix_len or not fits):
                self._suffixes(group, prefix_len)
                group = []
            group.append(sequence)
        if group:
            self._suffixes(group, prefix_len)

    def _suffixes(self, group: list[Sequence], prefix_len: int) -> None:
        """Evaluate the suffixes of ``group`` (equal lengths) and sample each one's token 1;
        a suffix longer than a batch goes alone, in pieces like ``Llama.eval``'s."""
        items: list[tuple[int, int, int, bool]] = []
        outputs: list[tuple[Sequence, int]] = []
        for sequence in group:
            tokens = sequence.job.tokens
            for pos in range(prefix_len, len(tokens)):
                items.append((tokens[pos], pos, sequence.seq_id, pos == len(tokens) - 1))
            outputs.append((sequence, len(items) - 1))
        last_piece = (len(items) - 1) // N_BATCH * N_BATCH
        self._decode(items)
        now = time.perf_counter()
        for sequence, index in outputs:
            firsts = sequence.job.choice_tokens
            if firsts is not None:  # before sampling: a grammar would mask the logits
                logits = self._c.llama_get_logits_ith(self._ctx, index - last_piece)
                sequence.choice_logprobs = choice_logprobs(logits[: self._n_vocab], firsts)
            sequence.take(self._sample(sequence, index - last_piece), now)

    def _generate(self, sequences: list[Sequence]) -> None:
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
        """``llama_decode`` in pieces of at most a batch; logits stay for the last piece."""
        batch = self._batch
        for start in range(0, len(items), N_BATCH):
            part = items[start : start + N_BATCH]
            for i, (token, pos, seq_id, logits) in enumerate(part):
                batch.token[i] = token
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq_id
                batch.logits[i] = logits
            batch.n_tokens = len(part)
            code = self._c.llama_decode(self._ctx, batch)
            if code != 0:
                raise LLMError(f"llama_decode failed with code {code} in a batch")

    def _memory(self) -> Any:
        return self._c.llama_get_memory(self._ctx)


def _completion(sequence: Sequence, model_id: str, started: float) -> Completion:
    return Completion(
        text=sequence.text,
        finish_reason=sequence.finish or "stop",
        prompt_tokens=len(sequence.job.tokens),
        completion_tokens=len(sequence.tokens),
        latency_s=max(0.0, sequence.finished_at - started),
        model=model_id,
        choice_logprobs=sequence.choice_logprobs,
    )
