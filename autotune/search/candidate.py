"""The record every searcher, the tracker and the report share: :class:`Candidate`.

A candidate is a prompt (as :class:`PromptParts`), where it came from (parents and the
operator that made it), and its per-case results on each split it was scored on. A
failed model call is kept as a case with no score (``None``), never as a 0: means and
comparisons use scored cases only.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from autotune.evaluate.results import CaseResult
from autotune.search.parts import PromptParts

Status = Literal["running", "accepted", "rejected", "pruned", "failed"]
SEARCH_SPLIT = "train"
MAX_FEEDBACK = 12
MAX_FEEDBACK_CHARS = 300


@dataclass(frozen=True)
class CaseScore:
    """One case's result: its score (``None`` when the call failed), prompt tokens, and on
    a label task each label's log-probability as the answer's start (for calibration)."""

    score: float | None
    prompt_tokens: int = 0
    logprobs: Mapping[str, float] | None = None

    def to_record(self) -> list[Any]:
        found: list[Any] = [self.score, self.prompt_tokens]
        if self.logprobs is not None:
            found.append({label: round(value, 4) for label, value in self.logprobs.items()})
        return found

    @classmethod
    def from_record(cls, item: Sequence[Any]) -> CaseScore:
        logprobs = item[2] if len(item) > 2 else None
        return cls(item[0], int(item[1]), None if logprobs is None else dict(logprobs))


@dataclass(frozen=True)
class Feedback:
    """A failed case as the Meta-LLM sees it: what the model said and why it was wrong."""

    case_id: str
    output: str
    reason: str


@dataclass
class Candidate:
    """One prompt the search tried.

    Attributes:
        number: Its id in the study (the number of the Optuna trial that records it).
        parts: The prompt, part by part.
        parents: Numbers of the candidates it was made from (none for the seed).
        operator: What made it (``seed``, ``rewrite:context``, ``drop:steps``, ``merge``,
            ``demos``, ``framing``, ``position``, ``tpe``).
        status: ``accepted`` (scored on all search cases), ``rejected`` (did worse than
            its parent on a mini-batch), ``pruned`` (TPE's pruner), ``failed`` (an edit
            that was not usable, or model errors), ``running``.
        rows: Per split, per case id, the case's score.
        feedback: Its failures on the search cases, for the Meta-LLM.
        note: Why it has its status, in a few words.
        raw: The Meta-LLM's answer behind it, when one wrote it (shown for rejected edits).
        calls: Model calls spent on it (Meta-LLM and task model).
    """

    number: int
    parts: PromptParts
    parents: tuple[int, ...] = ()
    operator: str = "seed"
    status: Status = "running"
    rows: dict[str, dict[str, CaseScore]] = field(default_factory=dict)
    feedback: list[Feedback] = field(default_factory=list)
    note: str = ""
    raw: str = ""
    calls: int = 0

    def scores(self, split: str = SEARCH_SPLIT) -> dict[str, float]:
        """Scored cases only: case id to score."""
        found = self.rows.get(split, {})
        return {case: row.score for case, row in found.items() if row.score is not None}

    def mean(self, split: str = SEARCH_SPLIT, cases: Iterable[str] | None = None) -> float | None:
        """The mean score over scored cases (of ``cases`` if given), None if none scored."""
        scored = self.scores(split)
        values = [scored[c] for c in cases if c in scored] if cases is not None else scored.values()
        values = list(values)
        return statistics.fmean(values) if values else None

    def label_logprobs(self, split: str = SEARCH_SPLIT) -> list[Mapping[str, float]]:
        """The labels' log-probabilities on the scored cases of ``split`` that have them."""
        found = self.rows.get(split, {}).values()
        return [r.logprobs for r in found if r.score is not None and r.logprobs is not None]

    def tokens(self, split: str = SEARCH_SPLIT, cases: Iterable[str] | None = None) -> float:
        """Mean prompt tokens per call: the candidate's cost and the tie-breaker."""
        found = self.rows.get(split, {})
        chosen = [found[c] for c in cases if c in found] if cases is not None else found.values()
        tokens = [row.prompt_tokens for row in chosen if row.prompt_tokens]
        return statistics.fmean(tokens) if tokens else float(len(self.parts.system_text()) / 4)

    @property
    def value(self) -> float | None:
        """Its search score: the mean over scored search cases."""
        return self.mean(SEARCH_SPLIT)

    def add_rows(self, split: str, rows: Sequence[CaseResult]) -> None:
        """Keep the evaluator's rows (errors as unscored cases) and the failures' feedback."""
        found = self.rows.setdefault(split, {})
        for row in rows:
            score = None if row.error is not None else row.score
            found[row.case_id] = CaseScore(score, row.prompt_tokens, row.choice_logprobs)
            self.calls += row.calls
            if split == SEARCH_SPLIT and row.error is None and not row.passed:
                self._remember(row)

    def forget(self, split: str, case_ids: Collection[str]) -> None:
        """Drop these cases' rows, their calls and their feedback, before they are scored
        again: the same requests, read differently. Only one-call answers carry label
        probabilities, so each row is one call."""
        found = self.rows.get(split, {})
        self.calls -= sum(1 for case in case_ids if case in found)
        for case in case_ids:
            found.pop(case, None)
        self.feedback = [f for f in self.feedback if f.case_id not in case_ids]

    def _remember(self, row: CaseResult) -> None:
        if len(self.feedback) < MAX_FEEDBACK:
            output = row.output[:MAX_FEEDBACK_CHARS]
            self.feedback.append(Feedback(row.case_id, output, row.reason[:MAX_FEEDBACK_CHARS]))

    def to_record(self) -> dict[str, Any]:
        """A JSON-friendly form (what the study's storage keeps)."""
        return {
            "parts": self.parts.to_dict(),
            "parents": list(self.parents),
            "operator": self.operator,
            "status": self.status,
            "rows": {
                split: {case: r.to_record() for case, r in found.items()}
                for split, found in self.rows.items()
            },
            "feedback": [[f.case_id, f.output, f.reason] for f in self.feedback],
            "note": self.note,
            "raw": self.raw,
            "calls": self.calls,
        }

    @classmethod
    def from_record(cls, number: int, data: Mapping[str, Any]) -> Candidate:
        rows = {
            split: {case: CaseScore.from_record(item) for case, item in found.items()}
            for split, found in data.get("rows", {}).items()
        }
        return cls(
            number=number,
            parts=PromptParts.from_dict(data["parts"]),
            parents=tuple(int(p) for p in data.get("parents", [])),
            operator=str(data.get("operator", "seed")),
            status=data.get("status", "failed"),
            rows=rows,
            feedback=[Feedback(*item) for item in data.get("feedback", [])],
            note=str(data.get("note", "")),
            raw=str(data.get("raw", "")),
            calls=int(data.get("calls", 0)),
        )
