"""kill -9 at any moment, then the same command: nothing finished is lost or re-scored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from search_doubles import task_answer

from autotune.bench.benchmark import Benchmark
from autotune.llm.fake import ScriptedLLM
from autotune.prompt import Prompt
from autotune.search._driver import CANDIDATE_ATTR
from autotune.search.optimizer import PromptOptimizer
from autotune.search.settings import SearchSettings

HERE = Path(__file__).parent
CHILD = """
import sys, time
sys.path.insert(0, {here!r})
import search_doubles as doubles
from autotune.llm.fake import ScriptedLLM
from autotune.search.optimizer import PromptOptimizer
from autotune.search.settings import SearchSettings

def slow(messages, params):
    time.sleep({delay})
    return doubles.task_answer(messages, params)

settings = SearchSettings.model_validate_json({settings!r})
meta = doubles.meta_llm()
optimizer = PromptOptimizer(ScriptedLLM(slow), meta, settings=settings,
                            storage={storage!r}, study_name="toy")
optimizer.optimize(doubles.benchmark(), doubles.seed_prompt())
"""


def records(storage: str) -> dict[int, dict[str, object]]:
    try:
        study = optuna.load_study(study_name="toy", storage=storage)
    except KeyError:
        return {}
    return {
        t.number: t.user_attrs[CANDIDATE_ATTR]
        for t in study.get_trials(deepcopy=False)
        if CANDIDATE_ATTR in t.user_attrs
    }


def kill_after(storage: str, settings: SearchSettings, recorded: int, delay: float) -> None:
    """Run the study in a child process and SIGKILL it once ``recorded`` candidates are in."""
    code = CHILD.format(
        here=str(HERE), delay=delay, settings=settings.model_dump_json(), storage=storage
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    try:
        while len(records(storage)) < recorded and time.monotonic() < deadline:
            assert child.poll() is None, "the child finished before it was killed"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("searcher", ["evolution", "tpe"])
@pytest.mark.parametrize("recorded", [0, 3])
def test_resume_after_kill_9_loses_and_rescores_nothing(
    tmp_path: Path,
    benchmark: Benchmark,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
    searcher: str,
    recorded: int,
) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    chosen = settings.model_copy(update={"searcher": searcher})
    # recorded=0 kills the run while the seed is being scored.
    kill_after(storage, chosen, recorded, delay=0.02 if recorded else 0.2)
    before = records(storage)
    assert len(before) >= recorded

    task = ScriptedLLM(task_answer)
    result = PromptOptimizer(
        task, meta_llm, settings=chosen, storage=storage, study_name="toy"
    ).optimize(benchmark, seed_prompt)

    after = records(storage)
    assert len(after) == chosen.n_trials
    for number, record in before.items():
        assert after[number] == record  # finished candidates untouched
    seeds = [n for n, r in after.items() if r["operator"] == "seed"]
    assert len(seeds) == 1  # the seed scored exactly once, even when its trial was killed
    study = optuna.load_study(study_name="toy", storage=storage)
    assert optuna.trial.TrialState.RUNNING not in [t.state for t in study.trials]
    # Nothing recorded before the kill was scored again: no search case of theirs was asked
    # in the resumed run beyond the new candidates' own mini-batches and search sets.
    new = [r for n, r in after.items() if n not in before]
    rows = sum(len(r["rows"].get("train", {})) for r in new)  # type: ignore[union-attr]
    final = 2 * len(benchmark.split("test")) + 16 * len(benchmark.split("validation"))
    assert task.calls <= rows + final
    assert result.held_out is not None
