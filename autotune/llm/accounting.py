"""Usage accounting and budgets: what the model calls cost, and when to stop.

:class:`MeteredLLM` counts every call into a :class:`UsageMeter` and, with a
:class:`Budget`, refuses a new call (raising :class:`BudgetExceeded`) once a limit is
reached. Answers served from the response cache are free: they are counted apart and
never use up a budget.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from autotune.errors import BudgetExceeded
from autotune.llm._deadline import deadline_in
from autotune.llm.base import BaseLLM, LLMWrapper, Outcome, Request
from autotune.llm.types import Completion, Message, SamplingParams

logger = logging.getLogger(__name__)

# Backends that run on the user's own machine cost nothing.
FREE_BACKENDS = frozenset({"llama_cpp", "fake"})


@dataclass(frozen=True)
class Usage:
    """A snapshot of a :class:`UsageMeter`."""

    calls: int = 0
    cached_calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0
    latency_s: float = 0.0
    wall_s: float = 0.0

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens of the paid (non-cached) calls."""
        return self.prompt_tokens + self.completion_tokens


class UsageMeter:
    """Thread-safe running totals of model usage.

    Only calls that reached a model count towards ``calls``, tokens and dollars;
    cache hits are counted in ``cached_calls`` alone.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._usage = Usage()
        self._in_flight = 0

    def snapshot(self) -> Usage:
        """The totals so far."""
        with self._lock:
            return dataclasses.replace(self._usage, wall_s=time.monotonic() - self._started)

    def record(self, completion: Completion, usd: float = 0.0) -> None:
        """Count one finished call."""
        with self._lock:
            self._add(completion, usd)

    def reserve(self, budget: Budget | None) -> None:
        """Claim a slot for one call, or raise if ``budget`` is already used up.

        In-flight calls count against ``max_calls`` so concurrent callers cannot
        overshoot it together.
        """
        with self._lock:
            if budget is not None:
                usage = dataclasses.replace(self._usage, wall_s=time.monotonic() - self._started)
                budget.check(usage, in_flight=self._in_flight)
            self._in_flight += 1

    def release(self, completion: Completion | None, usd: float = 0.0) -> None:
        """End a call begun with :meth:`reserve`; ``None`` means it failed."""
        with self._lock:
            self._in_flight -= 1
            if completion is None:
                self._usage = dataclasses.replace(
                    self._usage, failed_calls=self._usage.failed_calls + 1
                )
            else:
                self._add(completion, usd)

    def _add(self, completion: Completion, usd: float) -> None:
        u = self._usage
        if completion.cached:
            self._usage = dataclasses.replace(u, cached_calls=u.cached_calls + 1)
            return
        self._usage = dataclasses.replace(
            u,
            calls=u.calls + 1,
            prompt_tokens=u.prompt_tokens + completion.prompt_tokens,
            completion_tokens=u.completion_tokens + completion.completion_tokens,
            usd=u.usd + usd,
            latency_s=u.latency_s + completion.latency_s,
        )


@dataclass(frozen=True)
class Budget:
    """Limits on model usage; ``None`` means unlimited.

    Args:
        max_calls: Model calls (cache hits excluded).
        max_tokens: Prompt plus completion tokens.
        max_usd: Estimated dollars.
        max_wall_s: Seconds since the meter was created.
    """

    max_calls: int | None = None
    max_tokens: int | None = None
    max_usd: float | None = None
    max_wall_s: float | None = None

    def check(self, usage: Usage, in_flight: int = 0) -> None:
        """Raise :class:`BudgetExceeded` if another call would go past a limit."""
        if self.max_calls is not None and usage.calls + in_flight >= self.max_calls:
            raise BudgetExceeded("calls", self.max_calls, usage.calls + in_flight)
        if self.max_tokens is not None and usage.tokens >= self.max_tokens:
            raise BudgetExceeded("tokens", self.max_tokens, usage.tokens)
        if self.max_usd is not None and usage.usd >= self.max_usd:
            raise BudgetExceeded("usd", self.max_usd, usage.usd)
        if self.max_wall_s is not None and usage.wall_s >= self.max_wall_s:
            raise BudgetExceeded("wall_s", self.max_wall_s, usage.wall_s)


@cache
def price_usd(backend: str, model_id: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Estimated dollars of one call; 0 for local backends and models without a price.

    Prices come from ``genai-prices`` (pydantic's maintained price data, bundled with
    the package, no network): litellm's map would need litellm, a heavy install.
    """
    if backend in FREE_BACKENDS:
        return 0.0
    from genai_prices import Usage as TokenUsage
    from genai_prices import calc_price

    usage = TokenUsage(input_tokens=prompt_tokens, output_tokens=completion_tokens)
    try:
        return float(calc_price(usage, model_ref=model_id).total_price)
    except LookupError:
        return 0.0


class MeteredLLM(LLMWrapper):
    """Counts the inner model's usage and enforces a budget before each call.

    Args:
        inner: The model to meter (usually a :class:`~autotune.llm.cache.CachedLLM`).
        meter: Where totals go; a new one if omitted. Share one meter between models
            to give them a common budget.
        budget: Limits checked before each call.
    """

    def __init__(
        self, inner: BaseLLM, meter: UsageMeter | None = None, budget: Budget | None = None
    ) -> None:
        super().__init__(inner)
        self.meter = meter if meter is not None else UsageMeter()
        self.budget = budget

    def __repr__(self) -> str:
        return f"MeteredLLM({self.inner!r}, budget={self.budget!r})"

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        self.meter.reserve(self.budget)
        try:
            with deadline_in(self._wall_left()):
                completion = self.inner.execute(messages, params)
        except BaseException as exc:
            self.meter.release(None)
            self._raise_if_out_of_time(exc)
            raise
        self.meter.release(completion, self._price(completion))
        return completion

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        self.meter.reserve(self.budget)
        try:
            with deadline_in(self._wall_left()):
                completion = await self.inner.aexecute(messages, params)
        except BaseException as exc:
            self.meter.release(None)
            self._raise_if_out_of_time(exc)
            raise
        self.meter.release(completion, self._price(completion))
        return completion

    def execute_many(self, requests: Sequence[Request]) -> list[Outcome]:
        """One batch to the inner model; every request reserves its own call first, and a
        request the budget refuses gets :class:`BudgetExceeded` as its outcome."""
        sent, outcomes = self._reserve_each(requests)
        try:
            with deadline_in(self._wall_left()):
                answers = self.inner.execute_many([requests[i] for i in sent]) if sent else []
        except BaseException as exc:
            self._release_failed(len(sent), exc)
            raise
        return self._settle(sent, answers, outcomes)

    async def aexecute_many(self, requests: Sequence[Request]) -> list[Outcome]:
        sent, outcomes = self._reserve_each(requests)
        try:
            with deadline_in(self._wall_left()):
                batch = [requests[i] for i in sent]
                answers = await self.inner.aexecute_many(batch) if sent else []
        except BaseException as exc:
            self._release_failed(len(sent), exc)
            raise
        return self._settle(sent, answers, outcomes)

    def _reserve_each(self, requests: Sequence[Request]) -> tuple[list[int], list[Outcome | None]]:
        sent: list[int] = []
        outcomes: list[Outcome | None] = [None] * len(requests)
        for index in range(len(requests)):
            try:
                self.meter.reserve(self.budget)
            except BudgetExceeded as exc:
                outcomes[index] = exc
                continue
            sent.append(index)
        return sent, outcomes

    def _release_failed(self, count: int, exc: BaseException) -> None:
        for _ in range(count):
            self.meter.release(None)
        self._raise_if_out_of_time(exc)

    def _settle(
        self, sent: list[int], answers: Sequence[Outcome], outcomes: list[Outcome | None]
    ) -> list[Outcome]:
        for index, answer in zip(sent, answers, strict=True):
            if isinstance(answer, Completion):
                self.meter.release(answer, self._price(answer))
                outcomes[index] = answer
            else:
                self.meter.release(None)
                outcomes[index] = self._out_of_time(answer)
        return [o for o in outcomes if o is not None]

    def phase(self, budget: Budget) -> MeteredLLM:
        """The same model under a budget of its own, counted from now.

        Calls still add to this model's meter (totals stay complete) but only
        ``budget`` limits them: e.g. a final phase that runs after the search budget
        is spent, with a stated budget of its own. The phase's usage is in the
        returned model's ``meter``.
        """
        return MeteredLLM(MeteredLLM(self.inner, self.meter), UsageMeter(), budget)

    def _wall_left(self) -> float | None:
        if self.budget is None or self.budget.max_wall_s is None:
            return None
        return self.budget.max_wall_s - self.meter.snapshot().wall_s

    def _raise_if_out_of_time(self, exc: BaseException) -> None:
        """A call cut short by the wall-time budget is a budget stop, not a failure."""
        if isinstance(exc, Exception):
            stop = self._out_of_time(exc)
            if stop is not exc:
                raise stop from exc

    def _out_of_time(self, exc: Exception) -> Exception:
        """``exc``, or a :class:`BudgetExceeded` when the wall-time budget ended the call."""
        if not isinstance(exc, BudgetExceeded):
            left = self._wall_left()
            if left is not None and left <= 0.05 and self.budget is not None:
                limit = self.budget.max_wall_s or 0.0
                return BudgetExceeded("wall_s", limit, limit - left)
        return exc

    def _price(self, completion: Completion) -> float:
        if completion.cached:
            return 0.0
        return price_usd(
            self.backend, self.model_id, completion.prompt_tokens, completion.completion_tokens
        )
