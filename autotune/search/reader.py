"""Read a study as records: the public way for reports to see a search.

Reports, compare views and dashboards read candidates through :func:`read_study` (the
Optuna storage) and find candidate runs in MLflow by the tag and metric names exported
here; they never spell the search's storage keys themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna

from autotune.errors import ConfigError
from autotune.search._driver import CANDIDATE_ATTR
from autotune.search._record import FINAL_ATTR, PARENT_RUN_ATTR
from autotune.search._tracking import (
    CANDIDATE_KIND,
    KIND_TAG,
    NUMBER_TAG,
    SCORE_METRIC,
    STATE_TAG,
    readable_params,
)
from autotune.search.candidate import Candidate

__all__ = [
    "CANDIDATE_KIND",
    "KIND_TAG",
    "NUMBER_TAG",
    "SCORE_METRIC",
    "STATE_TAG",
    "CandidateRow",
    "StudyRecord",
    "read_study",
    "readable_params",
    "record_of",
]


@dataclass
class CandidateRow:
    """A candidate with its trial's bookkeeping (state, start and end, worker)."""

    candidate: Candidate
    state: str
    started: float | None
    finished: float | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class StudyRecord:
    """Everything a report needs of one study."""

    name: str
    candidates: list[CandidateRow]
    final: dict[str, Any] | None
    attrs: dict[str, Any]

    def accepted(self) -> list[Candidate]:
        return [row.candidate for row in self.candidates if row.candidate.status == "accepted"]

    def seed(self) -> Candidate | None:
        return next(
            (row.candidate for row in self.candidates if row.candidate.operator == "seed"), None
        )

    def parent_run_id(self) -> str | None:
        """The study's MLflow parent run, when it was tracked."""
        value = self.attrs.get(PARENT_RUN_ATTR)
        return str(value) if value else None

    def best_number(self) -> int | None:
        """The final winner's candidate number (None: the seed won, or not finished)."""
        if self.final is not None:
            number = self.final.get("best_candidate")
            return int(number) if number is not None else None
        ranked = sorted(self.accepted(), key=lambda c: -(c.value or 0.0))
        return ranked[0].number if ranked else None


def read_study(name: str, storage: str | optuna.storages.BaseStorage) -> StudyRecord:
    """The study ``name`` in ``storage`` as records.

    Raises:
        ConfigError: No study of that name in that storage.
    """
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise ConfigError(f"no study named {name!r} in that storage", field="study") from None
    return record_of(study)


def record_of(study: optuna.Study) -> StudyRecord:
    """An open study as records."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        data = trial.user_attrs.get(CANDIDATE_ATTR)
        if data is None:
            continue
        rows.append(
            CandidateRow(
                candidate=Candidate.from_record(trial.number, data),
                state=trial.state.name,
                started=trial.datetime_start.timestamp() if trial.datetime_start else None,
                finished=trial.datetime_complete.timestamp() if trial.datetime_complete else None,
                params=dict(trial.params),
            )
        )
    attrs = {k: v for k, v in study.user_attrs.items() if k != FINAL_ATTR}
    return StudyRecord(study.study_name, rows, study.user_attrs.get(FINAL_ATTR), attrs)
