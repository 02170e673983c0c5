"""What an optimization returns."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class OptimizationResult:
    """The outcome of one study.

    Attributes:
        study_name: The Optuna study's name.
        seed_prompt: The prompt the search started from (trial 0).
        best_prompt: The best prompt on the validation split.
        best_trial: The trial that produced it (None when the seed won).
        seed_validation: The seed's validation score.
        best_validation: The best prompt's validation score.
        held_out: Both prompts on the test split (None when there is no test split).
        trials: Counts of trials by state (``COMPLETE``, ``PRUNED``, ``FAIL``).
        rejected_proposals: Meta-LLM proposals that could not be parsed or repaired.
        stopped_by: The budget that stopped the search early, if any.
        usage: Model calls, tokens and dollars of the whole run.
        parent_run_id: The MLflow parent run, when tracking is on.
        prompt_path: Where the best prompt was written.
        registry_uri: ``prompts:/name@alias`` when it was registered.
    """

    study_name: str
    seed_prompt: Prompt
    best_prompt: Prompt
    best_trial: int | None
    seed_validation: float
    best_validation: float
    held_out: HeldOut | None = None
    trials: dict[str, int] = field(default_factory=dict)
    rejected_proposals: int = 0
    stopped_by: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    parent_run_id: str | None = None
    prompt_path: Path | None = None
    registry_uri: str | None = None

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary (written next to the best prompt)."""
        held = self.held_out
        return {
            "study": self.study_name,
            "best_trial": self.best_trial,
            "seed_validation": self.seed_validation,
            "best_validation": self.best_validation,
            "seed_test": held.seed.mean if held else None,
            "best_test": held.best.mean if held else None,
            "gain": held.gain if held else None,
            "gain_ci": [held.gain_ci_low, held.gain_ci_high] if held else None,
            "trials": self.trials,
            "rejected_proposals": self.rejected_proposals,
            "stopped_by": self.stopped_by,
            "usage": self.usage,
            "mlflow_parent_run_id": self.parent_run_id,
            "prompt_path": str(self.prompt_path) if self.prompt_path else None,
            "registry_uri": self.registry_uri,
        }
