"""The evaluator: run one prompt over many cases concurrently and score every answer.

It knows prompts, cases, metrics, strategies and the LLM layer, and nothing of search or
tracking: it returns plain :class:`EvalResult` objects.

Concurrency uses a fixed pool of ``concurrency`` worker coroutines that pull case indices
from one shared iterator. That bounds in-flight cases exactly like a semaphore, without
creating a task (and a semaphore wait) per case, which keeps harness overhead per case
to a few microseconds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from autotune.answer_strategies import (
    AnswerResult,
    BaseAnswerStrategy,
    get_answer_strategy,
    messages_as_text,
)
from autotune.bench.case import Case
from autotune.errors import (
    BudgetExceeded,
    ConfigError,
    DataError,
    FatalLLMError,
    LLMError,
    UserInputError,
)
from autotune.evaluate.calibration import Bias, calibrated_answer
from autotune.evaluate.results import CaseResult, ErrorPolicy, EvalResult, UnusableResult
from autotune.llm.base import BaseLLM
from autotune.llm.grammar import choice_grammar
from autotune.llm.scope import call_scope
from autotune.llm.types import SamplingParams
from autotune.metrics.base import MetricSet, Score
from autotune.prompt import Prompt

ProgressCallback = Callable[[CaseResult], None]
T = TypeVar("T")


class EvalBudgetExceeded(BudgetExceeded):
    """A budget ran out during an evaluation; ``partial`` holds the finished cases.

    It is a :class:`BudgetExceeded`, so callers that stop on budgets need no change.
    """

    def __init__(self, cause: BudgetExceeded, partial: EvalResult) -> None:
        super().__init__(cause.resource, cause.limit, cause.used)
        self.partial = partial


class _TooManyErrors(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Evaluator:
    """Scores prompts on cases with one model and one metric set.

    Args:
        llm: The model that answers the cases.
        metrics: The benchmark's weighted metrics.
        params: Sampling parameters of every call.
        concurrency: Most cases in flight at once.
        progress: Called with each finished row (in completion order), e.g. to advance
            a progress bar or to keep rows as they come.
        confidence: Coverage of the bootstrap interval of the mean.
        n_resamples: Bootstrap resamples.
        seed: Bootstrap seed.
        error_policy: When given, stop as soon as the errors make the result unusable
            under it, whatever the remaining cases do, and raise :class:`UnusableResult`
            (a dead server costs a few cases' retries, not the whole benchmark's).
        early_stop: Let generation end once the metrics' verdict is decided (see
            :meth:`~autotune.metrics.base.MetricSet.stop_rule`); only for strategies
            whose answer is the text of their one call.
        constrain: Hold the answer to the metrics' choices (a label task's labels, see
            :meth:`~autotune.metrics.base.MetricSet.answer_choices`) on backends that
            decode with a grammar; only for strategies whose answer is the text of
            their one call, and never over the caller's own grammar or schema. Others
            answer freely and are parsed leniently.
    """

    def __init__(
        self,
        llm: BaseLLM,
        metrics: MetricSet,
        *,
        params: SamplingParams | None = None,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
        confidence: float = 0.95,
        n_resamples: int = 2000,
        seed: int = 0,
        error_policy: ErrorPolicy | None = None,
        early_stop: bool = True,
        constrain: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.llm = llm
        self.metrics = metrics
        self.params = params or SamplingParams()
        self.concurrency = concurrency
        self.progress = progress
        self.confidence = confidence
        self.n_resamples = n_resamples
        self.seed = seed
        self.error_policy = error_policy
        self.early_stop = early_stop
        self.constrain = constrain

    def evaluate(self, prompt: Prompt, cases: Sequence[Case]) -> EvalResult:
        """Blocking form of :meth:`aevaluate`; also works inside a running event loop."""
        return run_sync(self.aevaluate(prompt, cases))

    async def aevaluate(self, prompt: Prompt, cases: Sequence[Case]) -> EvalResult:
        """Run ``prompt`` on every case and aggregate the scores.

        A case whose model call fails is recorded with ``error`` set and is not scored.

        Raises:
            DataError: There are no cases, or a case lacks a field the prompt needs.
            ConfigError: The prompt names an unknown strategy or has a bad demo.
            EvalBudgetExceeded: A budget ran out; ``.partial`` has the finished rows.
            FatalLLMError: A call failed in a way no retry or other case gets past
                (wrong key, wrong URL); the other cases are cancelled.
            UnusableResult: With ``error_policy``, the errors already make the result
                unusable; ``.partial`` has the finished rows.
        """
        cases = tuple(cases)
        check_cases(prompt, cases)
        strategy = get_answer_strategy(prompt.answer_strategy)
        slots: list[CaseResult | None] = [None] * len(cases)
        started = time.perf_counter()
        try:
            await self._run_workers(strategy, prompt, cases, slots)
        except BudgetExceeded as exc:
            raise EvalBudgetExceeded(exc, self._aggregate(slots, started)) from exc
        except _TooManyErrors as exc:
            partial = self._aggregate(slots, started)
            raise UnusableResult(exc.reason, partial) from None
        return self._aggregate(slots, started)

    async def _run_workers(
        self,
        strategy: BaseAnswerStrategy,
        prompt: Prompt,
        cases: tuple[Case, ...],
        slots: list[CaseResult | None],
    ) -> None:
        pending: Iterator[int] = iter(range(len(cases)))
        failed: list[CaseResult] = []

        async def worker() -> None:
            for index in pending:  # shared iterator: each index is taken exactly once
                row = await self._run_case(strategy, prompt, cases[index])
                slots[index] = row
                if self.progress is not None:
                    self.progress(row)
                if row.error is not None and self.error_policy is not None:
                    failed.append(row)
                    reason = self.error_policy.problem(failed, total=len(cases))
                    if reason is not None:
                        raise _TooManyErrors(reason)

        # A backend that decodes many requests together gets them all in flight.
        count = min(max(self.concurrency, self.llm.batch_size), len(cases))
        workers = [asyncio.ensure_future(worker()) for _ in range(count)]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise

    async def _run_case(
        self, strategy: BaseAnswerStrategy, prompt: Prompt, case: Case
    ) -> CaseResult:
        started = time.perf_counter()
        try:
            params = self._params_for(strategy, case)
            with call_scope(f"case {case.id}", "case", case.inputs, case.id):
                result = await strategy.run(self.llm, prompt, case.inputs, params)
        except (BudgetExceeded, UserInputError, FatalLLMError):
            raise  # a fatal error fails every case alike: stop at once, no error rows
        except Exception as exc:  # any other backend failure is one failed case
            return _error_row(prompt, case, exc, time.perf_counter() - started)
        latency = time.perf_counter() - started
        logprobs = _choice_logprobs(strategy, result, params.choices)
        if logprobs is not None and prompt.calibration:
            _calibrate(result, logprobs, prompt.calibration)
        try:
            weighted, scores = self.metrics.score(result.output, case)
        except Exception as exc:  # a broken metric must not lose the finished answers
            row = _error_row(prompt, case, exc, latency)
            row.output, row.trace = result.output, result.trace
            return row
        row = _scored_row(prompt, case, result, weighted, scores, latency)
        row.choice_logprobs = logprobs
        return row

    def _params_for(self, strategy: BaseAnswerStrategy, case: Case) -> SamplingParams:
        """The sampling parameters of one case: with the metrics' choice grammar and
        stop rule when the strategy's answer is its completion (they judge that text)."""
        params = self.params
        if not strategy.answer_is_completion:
            return params
        if self.constrain and params.grammar is None and params.response_schema is None:
            choices = self.metrics.answer_choices(case)
            if choices:
                params = params.with_(grammar=choice_grammar(choices), choices=tuple(choices))
        rule = self.metrics.stop_rule(case) if self.early_stop else None
        return params if rule is None else params.with_(stop_rule=rule)

    def _aggregate(self, slots: list[CaseResult | None], started: float) -> EvalResult:
        """The result of the finished cases, in case order."""
        return EvalResult.from_rows(
            [row for row in slots if row is not None],
            self.metrics.names,
            wall_s=time.perf_counter() - started,
            confidence=self.confidence,
            n_resamples=self.n_resamples,
            seed=self.seed,
        )


def check_cases(prompt: Prompt, cases: Sequence[Case]) -> None:
    """Fail early, with the case's source, when a case cannot fill the prompt.

    Raises:
        DataError: No cases, or a case lacks a field of the prompt's user template.
        ConfigError: A demo lacks a field of the prompt's user template.
    """
    if not cases:
        raise DataError("no cases to evaluate")
    needed = prompt.fields()
    for number, demo in enumerate(prompt.demos, start=1):
        missing_in_demo = needed.difference(demo.input_dict())
        if missing_in_demo:
            raise ConfigError(
                f"demo {number} has no value for the prompt's placeholder",
                field=sorted(missing_in_demo)[0],
            )
    for case in cases:
        missing = needed.difference(case.inputs)
        if missing:
            file, _, line = case.source.rpartition(":")
            raise DataError(
                f"case {case.id!r} has no value for the prompt's placeholder",
                file=file or case.source or None,
                line=int(line) if line.isdigit() else None,
                field=sorted(missing)[0],
            )


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even under a running loop."""
    results: list[T] = []

    async def main() -> None:
        # Keep the result off the main task: on exit asyncio.run formats the task's repr
        # (via its SIGINT handler), and the repr of thousands of rows costs ~25 us a row.
        results.append(await coroutine)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return results[0]
    # A loop already runs in this thread (a notebook, an async app): use a fresh loop
    # in a helper thread instead of nesting loops.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()
    return results[0]


def _scored_row(
    prompt: Prompt,
    case: Case,
    result: AnswerResult,
    weighted: float,
    scores: dict[str, Score],
    latency: float,
) -> CaseResult:
    reasons = [
        f"{name}: {score.reason or f'scored {score.value:.2f}'}"
        for name, score in scores.items()
        if score.value < 1.0
    ]
    return CaseResult(
        case_id=case.id,
        inputs=_as_dict(case),
        rendered=messages_as_text(result.request or prompt.render(case.inputs)),
        output=result.output,
        expected=case.expected,
        score=weighted,
        metric_scores={name: score.value for name, score in scores.items()},
        reason="; ".join(reasons),
        prompt_tokens=sum(c.prompt_tokens for c in result.completions),
        completion_tokens=sum(c.completion_tokens for c in result.completions),
        latency_s=latency,
        calls=len(result.completions),
        trace=result.trace,
    )


def _choice_logprobs(
    strategy: BaseAnswerStrategy, result: AnswerResult, choices: tuple[str, ...]
) -> dict[str, float] | None:
    """The labels' log-probabilities of a one-call answer, when the backend gave them."""
    if not choices or not strategy.answer_is_completion or len(result.completions) != 1:
        return None
    values = result.completions[0].choice_logprobs
    if values is None or len(values) != len(choices):
        return None
    return dict(zip(choices, values, strict=True))


def _calibrate(result: AnswerResult, logprobs: dict[str, float], bias: Bias) -> None:
    """Answer with the calibrated label; the text the model wrote stays in the trace."""
    answer = calibrated_answer(logprobs, bias)
    if answer is not None and answer != result.output:
        result.trace.append(("written", result.output))
        result.output = answer


def _error_row(prompt: Prompt, case: Case, exc: Exception, latency: float) -> CaseResult:
    message = f"{type(exc).__name__}: {exc}"
    return CaseResult(
        error_retryable=exc.retryable if isinstance(exc, LLMError) else True,
        case_id=case.id,
        inputs=_as_dict(case),
        rendered=messages_as_text(prompt.render(case.inputs)),
        output="",
        expected=case.expected,
        score=0.0,
        reason=message,
        latency_s=latency,
        error=message,
    )


def _as_dict(case: Case) -> dict[str, Any]:
    inputs = case.inputs
    return inputs if isinstance(inputs, dict) else dict(inputs)
