"""The tracking extension point: a sink for runs, parameters, metrics and artifacts.

The core never needs tracking. Code that logs takes a :class:`Tracker` and works the
same with :class:`NullTracker` (tracking off) as with the MLflow one::

    with tracker.start_run("study") as parent:
        parent.log_params({"model": "smollm2"})
        with tracker.start_run("trial-1", parent=parent.run_id) as child:
            child.log_eval(result, prompt)
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.evaluate.results import EvalResult
from autotune.prompt import Prompt
from autotune.tracking._records import (
    eval_metrics,
    eval_params,
    eval_table,
    prompt_json,
    prompt_markdown,
)
from autotune.tracking.traces import CallRecord

# Writing a trace takes 0.2-0.5 s on SQLite (see _mlflow_traces): a run keeps a sample.
DEFAULT_TRACES_PER_RUN = 10


class TrackedRun(abc.ABC):
    """One open run. ``run_id`` is empty when tracking is off."""

    run_id: str = ""

    @abc.abstractmethod
    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters (values are stored as text)."""

    @abc.abstractmethod
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log numeric metrics, optionally at a step (e.g. a trial number)."""

    @abc.abstractmethod
    def log_text(self, text: str, artifact_file: str) -> None:
        """Store ``text`` as an artifact file of the run."""

    @abc.abstractmethod
    def log_table(self, data: Mapping[str, Sequence[Any]], artifact_file: str) -> None:
        """Store a column-oriented table (``{column: values}``) as a JSON artifact."""

    @abc.abstractmethod
    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set tags on the run."""

    def log_dataset(  # noqa: B027 - optional: a store without datasets records nothing
        self, benchmark: Benchmark, split: str, cases: Sequence[Case] | None = None
    ) -> None:
        """Record the cases a run used as a dataset input (name, split, digest).

        ``cases`` defaults to the benchmark's ``split`` (``all``: every case).
        A store without datasets records nothing.
        """

    def log_calls(
        self,
        records: Sequence[CallRecord],
        result: EvalResult | None = None,
        *,
        limit: int = DEFAULT_TRACES_PER_RUN,
    ) -> int:
        """Write recorded model calls as traces linked to this run; returns how many.

        One trace per case (its steps and calls as spans) and one per call made outside
        a case; failed cases first, at most ``limit``. ``result`` adds each case's
        output, expected value and score to its trace.
        """
        return 0

    def log_eval(
        self,
        result: EvalResult,
        prompt: Prompt,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Log one evaluation: params, aggregate metrics, the prompt, the case table."""
        self.log_params({**eval_params(prompt, result), **(params or {})})
        self.log_metrics(eval_metrics(result))
        self.log_text(prompt_markdown(prompt), "prompt.md")
        self.log_text(prompt_json(prompt), "prompt.json")
        self.log_table(eval_table(result), "cases.json")


class Tracker(abc.ABC):
    """Opens runs in some tracking store."""

    @abc.abstractmethod
    def start_run(
        self,
        name: str,
        *,
        parent: str | None = None,
        tags: Mapping[str, str] | None = None,
        resume_id: str | None = None,
        started_at: float | None = None,
    ) -> contextlib.AbstractContextManager[TrackedRun]:
        """Open a run (a child of run id ``parent`` if given); it ends with the block.

        ``resume_id`` re-opens an existing run instead (a resumed study keeps its one
        parent run); a run id the store does not know starts a new run. ``started_at``
        (epoch seconds) back-dates the start for work done before the run was opened,
        so the run's duration is the work's.

        A block that raises marks the run failed; the exception propagates.
        """

    def existing_run(self, run_id: str) -> TrackedRun:
        """A handle to log more to a run that already ended, without re-opening it
        (which would move its end time)."""
        return NullRun()

    def open_run(
        self, name: str, *, tags: Mapping[str, str] | None = None, resume_id: str | None = None
    ) -> TrackedRun:
        """Open a run that stays open after the call: a study's parent run, shared by
        workers that start and stop at different times; :meth:`set_status` ends it.
        ``resume_id`` marks that run as running again when the store has it."""
        return NullRun()

    def set_status(self, run_id: str, status: str = "FINISHED") -> None:  # noqa: B027
        """End a run (``FINISHED``, ``FAILED``, ``KILLED``) or mark it ``RUNNING`` again."""

    def running_children(self, parent_id: str) -> list[tuple[str, dict[str, str]]]:
        """(run id, tags) of the runs under ``parent_id`` that are still RUNNING (a
        worker that died leaves its run so; its candidate's trial tells)."""
        return []

    def log_eval(
        self,
        result: EvalResult,
        prompt: Prompt,
        *,
        params: Mapping[str, Any] | None = None,
        run_name: str = "eval",
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        """Log one evaluation as its own run and return the run id.

        The run is back-dated by the evaluation's wall time, so its duration is true.
        """
        started = time.time() - result.wall_s
        with self.start_run(run_name, parent=parent_run_id, tags=tags, started_at=started) as run:
            run.log_eval(result, prompt, params)
        return run.run_id


class NullRun(TrackedRun):
    """A run that records nothing."""

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        pass

    def log_text(self, text: str, artifact_file: str) -> None:
        pass

    def log_table(self, data: Mapping[str, Sequence[Any]], artifact_file: str) -> None:
        pass

    def set_tags(self, tags: Mapping[str, str]) -> None:
        pass

    def log_eval(
        self, result: EvalResult, prompt: Prompt, params: Mapping[str, Any] | None = None
    ) -> None:
        pass  # skip building the table when nobody stores it


class NullTracker(Tracker):
    """Tracking turned off: same interface, no store, no cost."""

    @contextlib.contextmanager
    def start_run(
        self,
        name: str,
        *,
        parent: str | None = None,
        tags: Mapping[str, str] | None = None,
        resume_id: str | None = None,
        started_at: float | None = None,
    ) -> Iterator[TrackedRun]:
        yield NullRun()
