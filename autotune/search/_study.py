"""Optuna plumbing: create or resume a study, and clean up after a killed run."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from autotune.search.settings import SearchSettings
from autotune.search.storage import open_storage

DEFAULT_STORAGE_FILE = Path("mlruns") / "optuna.db"


def default_storage() -> str:
    """SQLite under ``mlruns/`` in the working directory."""
    DEFAULT_STORAGE_FILE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_STORAGE_FILE.resolve()}"


class _TrialSeeded:
    """Seeds a sampler's random state from the study's seed and the trial number.

    Seeded once, every worker's sampler would draw the same sequence: N workers would
    try the same random start-up candidates N times. Per trial, a trial's draw depends
    on the seed, its number and the trials before it, whichever worker runs it.
    """

    def __init__(self, *, seed: int, **options: Any) -> None:
        super().__init__(seed=seed, **options)  # type: ignore[call-arg]
        self._seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        super().before_trial(study, trial)  # type: ignore[misc]
        state = np.random.SeedSequence([self._seed, trial.number]).generate_state(1)[0]
        # Optuna keeps the random state private (LazyRandomState.rng); reseed_rng() is
        # public but draws a fresh, unrepeatable seed.
        for sampler in (self, getattr(self, "_random_sampler", None)):
            if sampler is not None:
                sampler._rng.rng.seed(int(state))  # type: ignore[union-attr]


class _TPE(_TrialSeeded, optuna.samplers.TPESampler):  # type: ignore[misc]
    pass


class _Random(_TrialSeeded, optuna.samplers.RandomSampler):  # type: ignore[misc]
    pass


def make_sampler(settings: SearchSettings) -> optuna.samplers.BaseSampler:
    sampler: optuna.samplers.BaseSampler
    if settings.sampler == "random":
        sampler = _Random(seed=settings.seed)
    else:
        startup = max(4, min(10, settings.n_trials // 4))
        # constant_liar: a trial still running elsewhere counts as a poor result, so
        # workers asking at the same moment get different candidates.
        sampler = _TPE(seed=settings.seed, n_startup_trials=startup, constant_liar=True)
    return sampler


def make_pruner(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if settings.pruner == "none" or settings.n_minibatches < 2:
        return optuna.pruners.NopPruner()
    # Three finished trials are enough of a median to stop a candidate scoring far below
    # it after one mini-batch; slow strategies (Reflexion) make waiting longer costly.
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)


IN_MEMORY = ":memory:"


def open_study(name: str, storage: str | None, settings: SearchSettings) -> optuna.Study:
    """Create the study, or load it to resume; a resumed study keeps its trials.

    ``storage`` is an Optuna storage URL (SQLite by default, PostgreSQL for several
    workers), or ``":memory:"`` for a throw-away study.
    """
    study = optuna.create_study(
        study_name=name,
        storage=open_storage(storage or default_storage()),
        direction="maximize",
        sampler=make_sampler(settings),
        pruner=make_pruner(settings),
        load_if_exists=True,
    )
    fail_interrupted_trials(study)
    return study


WORKER_ATTR = "worker"


def worker_id() -> str:
    """This process as ``host:pid``, recorded on each trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_is_gone(worker: object) -> bool:
    """Whether the process that ran a trial is known to be dead.

    Only processes on this host can be checked; a trial of another host's worker may
    still be running (several workers sharing one study), so it is left alone.
    """
    host, _, pid = str(worker).rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        # Another host's, or none recorded yet (a worker records itself just after
        # taking the trial): the heartbeat tells (storage.fail_stale_trials).
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def fail_interrupted_trials(study: optuna.Study) -> int:
    """Mark trials a killed worker left RUNNING as failed, so they are neither lost nor
    counted as running forever; the search then runs the trials still missing."""
    stale = [
        trial
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if _worker_is_gone(trial.user_attrs.get(WORKER_ATTR, ""))
    ]
    for trial in stale:  # another worker may fail it first
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
    return len(stale)


def finished_trials(study: optuna.Study) -> int:
    """Trials that count against ``n_trials``: completed, pruned or failed."""
    states = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    )
    return len(study.get_trials(deepcopy=False, states=states))


def count_states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts
