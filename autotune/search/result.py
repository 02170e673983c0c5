"""What an optimization returns: :class:`OptimizationResult`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autotune.evaluate.results import EvalResult
from autotune.prompt import Prompt


@dataclass
class HeldOut:
    """Seed and best prompt on the held-out test split, with the paired gain."""

    seed: EvalResult
    best: EvalResult
    gain: float
    gain_ci_low: float
    gain_ci_high: float

    @property
    def significant(self) -> bool:
        """Whether the gain's confidence interval lies above zero."""
        return self.gain_ci_low > 0


@dataclass(frozen=True)
class Contribution:
    """What one part of the winner is worth on validation (the ablation table).

    ``kept`` is False when removing the part did not lower the validation score: the
    part was dropped from the winner (ties go to the shorter prompt). The part
    ``instruction`` is the searched instruction as a whole, "removed" by putting the
    seed's back; on a tie the seed's words win, whatever their length. The part
    ``bias`` is a calibration's bias as the search estimated it, "removed" by
    re-estimating it on the validation inputs.
    """

    part: str
    score_with: float
    score_without: float
    kept: bool

    @property
    def contribution(self) -> float:
        return self.score_with - self.score_without

    @property
    def verdict(self) -> str:
        """``kept``, or what happened instead: ``dropped`` (``re-estimated``, a bias)."""
        if self.kept:
            return "kept"
        return "re-estimated" if self.part == "bias" else "dropped"


@dataclass(frozen=True)
class Finalist:
    """A candidate scored on the validation split (``number`` None: the seed)."""

    number: int | None
    validation: float
    search: float | None
    tokens: float


@dataclass
class OptimizationResult:
    """The outcome of one study.

    Attributes:
        study_name: The study's name.
        searcher: The searcher that ran (``evolution`` or ``tpe``).
        seed_prompt: The prompt the search started from.
        best_prompt: The winner after ablation (the seed when nothing beat it).
        best_candidate: The candidate the winner came from (None when the seed won).
        seed_validation: The seed's validation score.
        best_validation: The winner's validation score (after ablation).
        held_out: Both prompts on the test split (None when there is no test split).
        finalists: Seed and finalists with their validation scores.
        contributions: Each part of the winner and what removing it cost on validation.
        candidates: Counts of candidates by status (accepted, rejected, pruned, failed).
        rejected_proposals: Meta-LLM edits that were unusable (debris, off-task, unparsable).
        operators: Per operator, (accepted children, tried children).
        unscored: What the final phase's budget left unscored.
        stopped_by: The budget that stopped the search early, if any.
        usage: Model calls, tokens and dollars of the whole run.
        parent_run_id: The MLflow parent run, when tracking is on.
        prompt_path: Where the best prompt was written.
        registry_uri: ``prompts:/name@alias`` when it was registered.
    """

    study_name: str
    seed_prompt: Prompt
    best_prompt: Prompt
    best_candidate: int | None
    seed_validation: float
    best_validation: float
    searcher: str = "evolution"
    held_out: HeldOut | None = None
    finalists: list[Finalist] = field(default_factory=list)
    contributions: list[Contribution] = field(default_factory=list)
    candidates: dict[str, int] = field(default_factory=dict)
    rejected_proposals: int = 0
    operators: dict[str, tuple[int, int]] = field(default_factory=dict)
    unscored: list[str] = field(default_factory=list)
    stopped_by: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    parent_run_id: str | None = None
    prompt_path: Path | None = None
    registry_uri: str | None = None

    @property
    def best_trial(self) -> int | None:
        """The winner's trial number (candidates are trials); kept for older callers."""
        return self.best_candidate

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary (written next to the best prompt)."""
        held = self.held_out
        return {
            "study": self.study_name,
            "searcher": self.searcher,
            "best_candidate": self.best_candidate,
            "seed_validation": self.seed_validation,
            "best_validation": self.best_validation,
            "seed_test": held.seed.mean if held else None,
            "best_test": held.best.mean if held else None,
            "gain": held.gain if held else None,
            "gain_ci": [held.gain_ci_low, held.gain_ci_high] if held else None,
            "test_errors": held.seed.errors + held.best.errors if held else None,
            "finalists": [asdict(f) for f in self.finalists],
            "contributions": [
                {**asdict(c), "contribution": c.contribution} for c in self.contributions
            ],
            "candidates": self.candidates,
            "rejected_proposals": self.rejected_proposals,
            "operators": {k: list(v) for k, v in self.operators.items()},
            "unscored": self.unscored,
            "stopped_by": self.stopped_by,
            "usage": self.usage,
            "mlflow_parent_run_id": self.parent_run_id,
            "prompt_path": str(self.prompt_path) if self.prompt_path else None,
            "registry_uri": self.registry_uri,
        }
