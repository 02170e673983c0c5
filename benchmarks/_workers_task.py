"""The toy task of bench_workers.py, and one worker process of it.

Review cases (``N_CASES``) labelled positive/negative; a model server double answers a case
right only when the system prompt says ``CAREFULLY``, says "positive" to everything when
it mentions a label, and chatters otherwise. TPE chooses one of six instructions and a
temperature per trial; a trial scores its prompt on the cases through the real stack
(the openai backend, the evaluator) at concurrency 4. Workers share the study through
:mod:`autotune.search.coordination`: tickets for the trials, one final phase.

Usage (started by bench_workers.py):
    _workers_task.py URL N_TRIALS BASE_URL BARRIER N_WORKERS NAME N_CASES
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
from collections.abc import Sequence

WORDS = ["lovely", "awful", "great", "dull", "superb", "boring", "charming", "weak"]
INSTRUCTIONS = [
    "Classify the text.",
    "Give the label of the review.",
    "Read the review and answer.",
    "Read CAREFULLY, then answer with the label only.",
    "Say what the text is about.",
    "Decide the label.",
]


def label(word: str) -> str:
    return "positive" if WORDS.index(word) % 2 == 0 else "negative"


def answer(messages: Sequence[dict[str, str]]) -> str:
    """The model double's answer: deterministic in the messages."""
    system = " ".join(m["content"] for m in messages if m["role"] == "system")
    text = messages[-1]["content"]
    if "CAREFULLY" in system:
        return next(label(w) for w in WORDS if w in text)
    if "label" in system:
        return "positive"
    return "I think it is a review."


def main() -> None:
    url, n_trials, base_url, barrier, n_workers, name, n_cases = sys.argv[1:8]
    import optuna

    from autotune.bench.case import Case
    from autotune.evaluate import Evaluator
    from autotune.llm import load_llm
    from autotune.llm.types import SamplingParams
    from autotune.metrics.base import MetricSet, WeightedMetric
    from autotune.metrics.label import LabelMatch
    from autotune.prompt import Prompt
    from autotune.search.coordination import Tickets, run_once
    from autotune.search.storage import beating, open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cases = [
        Case(id=f"c{i}", inputs={"text": f"review {i}: it was {w}"}, expected=label(w))
        for i, w in ((i, WORDS[i % len(WORDS)]) for i in range(int(n_cases)))
    ]
    metrics = MetricSet([WeightedMetric(LabelMatch(labels=("positive", "negative")))])
    llm = load_llm(f"openai:double@{base_url}", no_cache=True)
    storage = open_storage(url)
    sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=4, constant_liar=True)
    study = optuna.create_study(
        study_name="bench", storage=storage, sampler=sampler, direction="maximize",
        load_if_exists=True,
    )  # fmt: skip
    tickets = Tickets(study, int(n_trials), seed_params={"instruction": 0, "temperature": 0.0})

    def score(instruction: int, temperature: float) -> float:
        prompt = Prompt(system=INSTRUCTIONS[instruction], user_template="{text}")
        params = SamplingParams(temperature=temperature, max_tokens=8)
        evaluator = Evaluator(llm, metrics, params=params, concurrency=4, n_resamples=200)
        return float(evaluator.evaluate(prompt, cases).mean)

    pathlib.Path(barrier, name).touch()  # imports done: start together
    while len(list(pathlib.Path(barrier).iterdir())) < int(n_workers):
        time.sleep(0.005)
    ran = 0
    while (trial := tickets.take()) is not None:
        with beating(study, trial):
            instruction = trial.suggest_categorical("instruction", list(range(6)))
            temperature = trial.suggest_categorical("temperature", [0.0, 0.7])
            value = score(int(instruction), float(temperature))
        study.tell(trial, value)
        ran += 1

    def final() -> dict[str, object]:
        complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        best = max(complete, key=lambda t: (t.value, -t.number))
        instruction = int(best.params["instruction"])
        return {
            "best_instruction": INSTRUCTIONS[instruction],
            "validation": score(instruction, 0.0),
            "by": name,
        }

    result = run_once(storage, "bench", "final", final)
    print(json.dumps({"worker": name, "ran": ran, "final": result}), flush=True)


if __name__ == "__main__":
    main()
