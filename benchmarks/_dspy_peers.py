"""DSPy peers for ``bench_sst2_vs_dspy.py``: MIPROv2 and BootstrapFewShotWithRandomSearch.

Both talk to the same counting proxy as autotune (``dspy.LM("openai/smollm2", ...)``,
response cache off). A crash of an optimizer is caught and recorded with the calls it
made until then; on the test split a reply DSPy's adapters cannot parse is a wrong
answer, never a crash.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import dspy
from _proxy import CountingProxy

EVAL_THREADS = 4


class Sentiment(dspy.Signature):  # type: ignore[misc]
    """Classify the sentiment of a movie review as positive or negative."""

    text: str = dspy.InputField()
    sentiment: Literal["positive", "negative"] = dspy.OutputField()


@dataclass(frozen=True)
class DspySetup:
    """How the DSPy side is configured (recorded in the results)."""

    proxy_url: str
    task_max_tokens: int
    prompt_max_tokens: int
    num_threads: int
    seed: int

    def task_lm(self) -> Any:
        return dspy.LM(
            "openai/smollm2",
            api_base=self.proxy_url,
            api_key="x",
            cache=False,
            temperature=0.0,
            max_tokens=self.task_max_tokens,
        )

    def prompt_lm(self) -> Any:
        # The proposer sets its own temperatures; only the length is capped.
        return dspy.LM(
            "openai/smollm2",
            api_base=self.proxy_url,
            api_key="x",
            cache=False,
            max_tokens=self.prompt_max_tokens,
        )


def examples(rows: Sequence[dict[str, str]]) -> list[Any]:
    return [
        dspy.Example(text=row["text"], sentiment=row["label"]).with_inputs("text") for row in rows
    ]


def exact_label(example: Any, prediction: Any, trace: Any = None) -> bool:
    """The metric both DSPy optimizers use: the predicted label equals the gold label."""
    return bool(getattr(prediction, "sentiment", None) == example.sentiment)


def evaluate_on(
    program: Any, rows: Sequence[dict[str, str]], lm: Any, proxy: CountingProxy, phase: str
) -> dict[str, Any]:
    """Accuracy on ``rows`` (4 cases in flight, as autotune's evaluator); a reply no
    adapter can parse counts as wrong."""
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def answer(example: Any) -> bool | None:
        with dspy.context(lm=lm):
            try:
                return exact_label(example, program(text=example.text))
            except Exception as exc:  # AdapterParseError and kin: a wrong answer
                with lock:
                    errors[type(exc).__name__] += 1
                return None

    started = time.perf_counter()
    with proxy.phase_of(phase) as count, ThreadPoolExecutor(EVAL_THREADS) as pool:
        answers = list(pool.map(answer, examples(rows)))
    return {
        "accuracy": sum(bool(a) for a in answers) / len(rows),
        "cases": len(rows),
        "correct": sum(bool(a) for a in answers),
        "unparsed_answers": sum(a is None for a in answers),
        "exception_types": dict(errors),
        "calls": count.calls,
        "wall_s": time.perf_counter() - started,
    }


def demos_of(program: Any) -> list[dict[str, Any]]:
    """The few-shot demos a compiled program carries (texts kept out of the results)."""
    found = []
    for predictor in program.predictors():
        for demo in predictor.demos:
            found.append(
                {"sentiment": demo.get("sentiment"), "augmented": bool(demo.get("augmented"))}
            )
    return found


def instructions_of(program: Any) -> list[str]:
    return [str(predictor.signature.instructions) for predictor in program.predictors()]


def run_optimizer(
    name: str,
    compile_program: Callable[[], Any],
    proxy: CountingProxy,
) -> tuple[Any | None, dict[str, Any]]:
    """Run one ``compile``; on a crash record the exception and the calls made so far."""
    started = time.perf_counter()
    record: dict[str, Any] = {"completed": False}
    program = None
    with proxy.phase_of(f"{name}:compile") as count:
        try:
            program = compile_program()
            record["completed"] = True
        except Exception as exc:  # recorded, not raised: a crash is a result here
            record["failure"] = failure_record(exc)
    record["compile_calls"] = count.calls
    record["compile_prompt_tokens"] = count.prompt_tokens
    record["compile_completion_tokens"] = count.completion_tokens
    record["compile_wall_s"] = time.perf_counter() - started
    if program is not None:
        record["instructions"] = instructions_of(program)
        record["demos"] = demos_of(program)
    return program, record


def failure_record(exc: BaseException) -> dict[str, Any]:
    """Type, first message line and the innermost frames of a crash.

    Only the first line of the message is kept: the rest quotes the model's reply,
    which may echo the review text (SST-2 sentences stay out of the results).
    """
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    return {
        "type": type(exc).__name__,
        "message": (str(exc).strip().splitlines() or [""])[0][:300],
        "frames": [f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames],
    }


def run_mipro(
    setup: DspySetup, train: Sequence[Any], validation: Sequence[Any], proxy: CountingProxy
) -> tuple[Any | None, dict[str, Any]]:
    """MIPROv2 with DSPy's light preset and its other defaults (max_errors included)."""
    task_lm, prompt_lm = setup.task_lm(), setup.prompt_lm()
    optimizer = dspy.MIPROv2(
        metric=exact_label,
        prompt_model=prompt_lm,
        task_model=task_lm,
        auto="light",
        num_threads=setup.num_threads,
        seed=setup.seed,
    )

    def compile_program() -> Any:
        with dspy.context(lm=task_lm):
            return optimizer.compile(
                dspy.Predict(Sentiment), trainset=list(train), valset=list(validation)
            )

    plan = planned_mipro_calls(optimizer, validation)
    program, record = run_optimizer("mipro", compile_program, proxy)
    record["planned"] = plan
    record["settings"] = {
        "auto": "light",
        "max_bootstrapped_demos": optimizer.max_bootstrapped_demos,
        "max_labeled_demos": optimizer.max_labeled_demos,
        "max_errors": f"dspy default ({dspy.settings.max_errors})",
        "num_threads": setup.num_threads,
        "seed": setup.seed,
    }
    return program, record


def planned_mipro_calls(optimizer: Any, validation: Sequence[Any]) -> dict[str, Any]:
    """MIPROv2's own plan for this run (its ``_estimate_lm_calls`` formula), before it runs.

    Counts program calls (each may be two HTTP calls when the ChatAdapter's reply cannot
    be parsed and the JSONAdapter retries); bootstrapping is not included.
    """
    try:
        optimizer._set_random_seeds(optimizer.seed)
        trials, valset, minibatch, n_instructions, n_fewshot = (
            optimizer._set_hyperparams_from_run_mode(
                dspy.Predict(Sentiment), None, True, False, list(validation), None, None
            )
        )
    except Exception as exc:  # private API: record, never fail the benchmark on it
        return {"error": f"{type(exc).__name__}: {exc}"}
    if minibatch:
        task_calls = 35 * trials + len(valset) * (trials // 5 + 1)
    else:
        task_calls = len(valset) * trials
    return {
        "num_trials": trials,
        "minibatch": minibatch,
        "instruction_candidates": n_instructions,
        "fewshot_candidates": n_fewshot,
        "task_program_calls": task_calls,
        "prompt_model_calls": 10 + n_instructions + 2,
    }


def run_random_search(
    setup: DspySetup,
    train: Sequence[Any],
    validation: Sequence[Any],
    proxy: CountingProxy,
    *,
    num_candidate_programs: int,
    max_labeled_demos: int,
    max_errors: int,
) -> tuple[Any | None, dict[str, Any]]:
    """BootstrapFewShotWithRandomSearch; ``max_errors`` raised so unparsed replies score 0."""
    task_lm = setup.task_lm()
    optimizer = dspy.BootstrapFewShotWithRandomSearch(
        metric=exact_label,
        num_candidate_programs=num_candidate_programs,
        max_labeled_demos=max_labeled_demos,
        num_threads=setup.num_threads,
        max_errors=max_errors,
    )

    def compile_program() -> Any:
        with dspy.context(lm=task_lm):
            return optimizer.compile(
                dspy.Predict(Sentiment), trainset=list(train), valset=list(validation)
            )

    program, record = run_optimizer("bfrs", compile_program, proxy)
    record["settings"] = {
        "num_candidate_programs": num_candidate_programs,
        "max_bootstrapped_demos": optimizer.max_num_samples,
        "max_labeled_demos": optimizer.max_labeled_demos,
        "max_rounds": optimizer.max_rounds,
        "max_errors": max_errors,
        "num_threads": setup.num_threads,
    }
    return program, record


def quiet_dspy() -> None:
    """Silence per-example error logs (each quotes a review) and HTTP chatter."""
    for name in ("dspy", "LiteLLM", "litellm", "httpx"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def candidate_scores(program: Any) -> list[dict[str, Any]] | None:
    """Validation scores of the programs an optimizer tried (BFRS and MIPROv2 keep them)."""
    if program is None:
        return None
    found = getattr(program, "candidate_programs", None)
    if not found:
        return None
    scores = []
    for candidate in found:
        if isinstance(candidate, dict):
            kept = {k: v for k, v in candidate.items() if isinstance(v, int | float | str)}
            scores.append(kept)
    return scores
