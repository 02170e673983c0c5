"""What a worker does when another one died or took it for dead: a candidate whose trial
was failed meanwhile is dropped and run again, a re-issued seed comes first, a trial that
never recorded a heartbeat is failed after the grace period."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState
from search_doubles import task_answer

from autotune.bench.benchmark import Benchmark
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.prompt import Prompt
from autotune.search._driver import CANDIDATE_ATTR, DROPPED, counts
from autotune.search.coordination import SEED_ATTR, Tickets
from autotune.search.optimizer import PromptOptimizer
from autotune.search.settings import SearchSettings
from autotune.search.storage import Heartbeat, fail_stale_trials, open_storage
from autotune.tracking.mlflow_sink import MlflowTracker
from autotune.tracking.store import prepare_tracking_store


def test_a_candidate_whose_trial_another_worker_failed_is_dropped_and_run_again(
    tmp_path: Path,
    benchmark: Benchmark,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    victim: list[int] = []

    def answer(messages: Sequence[Message], params: SamplingParams) -> str:
        """While candidate 2 is scored, another worker fails its trial (its heartbeat
        looked stopped), as storage.fail_stale_trials would."""
        if not victim:
            storage = open_storage(url, heartbeat=None)
            study = optuna.load_study(study_name="toy", storage=storage)
            running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if running and running[0].number == 2:
                storage.set_trial_state_values(running[0]._trial_id, TrialState.FAIL)
                victim.append(running[0].number)
        return task_answer(messages, params)

    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "toy")
    optimizer = PromptOptimizer(
        ScriptedLLM(answer), meta_llm, settings=settings, storage=url, study_name="toy",
        tracker=tracker,
    )  # fmt: skip
    result = optimizer.optimize(benchmark, seed_prompt)

    assert victim == [2]
    study = optuna.load_study(study_name="toy", storage=url)
    dropped = study.trials[2]
    assert dropped.state == TrialState.FAIL and CANDIDATE_ATTR not in dropped.user_attrs
    assert sum(counts(t) for t in study.trials) == settings.n_trials  # its ticket ran again
    assert len(study.trials) == settings.n_trials + 1
    assert sum(result.candidates.values()) == settings.n_trials
    runs = MlflowClient(tracker.tracking_uri).search_runs([tracker.experiment_id])
    (run,) = [r for r in runs if r.data.tags.get("autotune.candidate") == "2"]
    assert run.data.tags["autotune.note"] == DROPPED


def test_a_reissued_seed_ticket_is_taken_before_the_others(tmp_path: Path) -> None:
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/t.db"))
    tickets = Tickets(study, 4, seed_first=True, poll_s=0.01)
    seed = tickets.take()
    assert seed is not None and seed.user_attrs.get(SEED_ATTR)
    study.tell(seed, state=TrialState.FAIL)  # killed while scoring the seed

    again = tickets.take()

    assert again is not None and again.user_attrs.get(SEED_ATTR)
    assert again.number == 4  # issued after the three waiting tickets, taken first
    study.tell(again, 1.0)
    numbers = []
    while (trial := tickets.take()) is not None:
        numbers.append(trial.number)
        study.tell(trial, 0.5)
    assert numbers == [1, 2, 3]


def test_seed_first_hands_out_nothing_while_the_seed_runs_elsewhere(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    first = Tickets(study, 3, seed_first=True, poll_s=0.01)
    seed = first.take()
    assert seed is not None
    other = optuna.load_study(study_name="s", storage=open_storage(url))
    second = Tickets(other, 3, seed_first=True, poll_s=0.01)
    assert second._pop(seed_only=not second._seed_done()) is None  # it would wait
    study.tell(seed, 1.0)
    taken = second.take()
    assert taken is not None and taken.number == 1


@pytest.fixture(params=["sqlite", "journal", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/optuna.db"
    if request.param == "journal":
        return f"journal:///{tmp_path}/optuna.log"
    return str(request.getfixturevalue("postgres_url"))


def test_a_trial_taken_but_never_beating_is_failed_after_the_grace_period(url: str) -> None:
    """A worker killed between taking a ticket and its first heartbeat."""
    study = optuna.create_study(storage=open_storage(url, heartbeat=Heartbeat(1, 2)))
    tickets = Tickets(study, 2)
    orphan = tickets.take()  # and never a heartbeat
    assert orphan is not None
    assert fail_stale_trials(study) == []  # within the grace period: left alone
    time.sleep(2.5)

    assert fail_stale_trials(study) == [orphan.number]
    assert study.trials[orphan.number].state == TrialState.FAIL


CHILD = """
import sys, time
sys.path.insert(0, {here!r})
import search_doubles as doubles
from autotune.llm.fake import ScriptedLLM
from autotune.search.optimizer import PromptOptimizer
from autotune.tracking.mlflow_sink import MlflowTracker

def slow(messages, params):  # slow enough that the kill lands inside a candidate
    time.sleep(0.2)
    return doubles.task_answer(messages, params)

tracker = MlflowTracker({tracking!r}, "toy")
task = ScriptedLLM(slow, model_id="task")
optimizer = PromptOptimizer(task, doubles.meta_llm(), settings=doubles.settings(),
                            storage={storage!r}, study_name="toy", tracker=tracker)
optimizer.optimize(doubles.benchmark(), doubles.seed_prompt())
"""


def test_a_killed_workers_candidate_run_is_closed_as_killed_on_resume(
    tmp_path: Path,
    benchmark: Benchmark,
    task_llm: ScriptedLLM,
    meta_llm: ScriptedLLM,
    seed_prompt: Prompt,
    settings: SearchSettings,
) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code = CHILD.format(here=str(Path(__file__).parent), tracking=tracking, storage=storage)
    prepare_tracking_store(tracking)  # not created by this test's client and the child at once
    child = subprocess.Popen([sys.executable, "-c", code])
    client = MlflowClient(tracking)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            running = running_candidates(client)
            if running and running != ["0"]:  # past the seed, in the middle of a candidate
                break
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    killed = running_candidates(client)
    assert killed, "the child was killed between candidates; nothing to close"

    tracker = MlflowTracker(tracking, "toy")
    PromptOptimizer(
        task_llm, meta_llm, settings=settings, storage=storage, study_name="toy", tracker=tracker
    ).optimize(benchmark, seed_prompt)

    runs = client.search_runs([tracker.experiment_id])
    states = {r.data.tags.get("autotune.candidate"): r.info.status for r in runs}
    assert {states[number] for number in killed} == {"KILLED"}
    assert "RUNNING" not in {r.info.status for r in runs}
    (parent,) = [r for r in runs if r.data.tags.get("autotune.kind") == "study"]
    assert parent.info.status == "FINISHED"


def running_candidates(client: MlflowClient) -> list[str]:
    experiment = client.get_experiment_by_name("toy")
    if experiment is None:
        return []
    runs = client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")
    return [r.data.tags["autotune.candidate"] for r in runs if "autotune.candidate" in r.data.tags]


def test_a_worker_that_finds_every_ticket_issued_by_another_still_gets_one(
    tmp_path: Path,
) -> None:
    """Between its pop (nothing yet) and its issue() (all issued), another worker
    issued every ticket and took none yet: nothing runs, but tickets wait."""

    class Late(Tickets):
        raced = False

        def _pop(self, *, seed_only: bool = False) -> optuna.Trial | None:
            if not self.raced:
                self.raced = True
                Tickets(self.study, self.n_trials).issue()  # the other worker
                return None
            return super()._pop(seed_only=seed_only)

    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/t.db"))
    trial = Late(study, 3, seed_first=True, poll_s=0.01).take()

    assert trial is not None and trial.user_attrs.get(SEED_ATTR)
