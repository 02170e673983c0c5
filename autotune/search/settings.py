"""Search settings: which searcher, what it may change, how candidates are scored.

The defaults serve any task without tuning (the same settings were measured on a
2-label and a 4-label task): the evolutionary searcher, 25 candidates, a 60-case search
set with 8-case mini-batches, three finalists, section ablation of the winner. The search
set is large and the candidates few because the judge was the bottleneck: on 30 search
cases fixed prompts scored up to 0.25 off their validation scores, and 60 cases with 25
candidates lifted AG News from 61.5% and 56.5% to 66.5% and 63.0% held out, with fewer
calls (``benchmarks/results/search_round6.md``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

ANSWER_STRATEGIES = ("direct", "step_by_step", "reflexion")
POSITIONS = ("system", "user")
SEARCHERS = ("evolution", "tpe")


class SearchSettings(BaseModel):
    """The search of one study.

    Shared by both searchers: ``n_trials`` (candidates tried, each one Optuna trial),
    ``seed``, ``demo_counts``, ``positions``, ``minibatch_size``, ``n_validate``
    (finalists scored on validation), ``ablate``, ``concurrency``, ``max_tokens``,
    ``constrain_answers`` (see :class:`~autotune.evaluate.Evaluator`), ``calibrate``
    (the final phase offers the winner calibrated answers, see
    :mod:`autotune.evaluate.calibration`), ``calibrate_search`` (the evolutionary
    searcher's calibrate operator) and the
    Meta-LLM's sampling. The evolutionary searcher scores accepted candidates on
    ``search_size`` training cases. TPE (``searcher = "tpe"``) chooses an instruction
    slot (``pool_size`` slots: the seed, ``n_generated`` drafts, refinements), a demo set
    (of ``n_demo_sets``), the position, the answer strategy and the temperature, and
    scores on ``n_minibatches`` fixed mini-batches with a median pruner.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    searcher: Literal["evolution", "tpe"] = "evolution"
    n_trials: int = Field(25, ge=1)
    seed: int = 0
    demo_counts: list[int] = Field(default_factory=lambda: [0, 2, 4, 8])
    positions: list[str] = Field(default_factory=lambda: list(POSITIONS))
    minibatch_size: int = Field(8, ge=1)
    search_size: int = Field(60, ge=2)
    n_validate: int = Field(3, ge=1)
    ablate: bool = True
    concurrency: int = Field(4, ge=1)
    max_tokens: int = Field(64, ge=1)
    # Hold task answers to a label metric's labels where the backend decodes with a
    # grammar (llama.cpp): without demos a weak model's free answers are mostly prose.
    constrain_answers: bool = True
    # Offer the winner calibrated label answers in the final phase (needs
    # constrain_answers and a backend that reports label log-probabilities).
    calibrate: bool = True
    # Let the evolutionary search calibrate candidates too (measured: no better on
    # average over four benchmark runs and the quickstart, so off by default).
    calibrate_search: bool = False
    meta_temperature: float = Field(0.7, ge=0.0, le=2.0)
    meta_max_tokens: int = Field(400, ge=16)
    # TPE only
    sampler: Literal["tpe", "random"] = "tpe"
    pruner: Literal["median", "none"] = "median"
    pool_size: int = Field(8, ge=1, le=64)
    n_generated: int = Field(3, ge=0)
    n_demo_sets: int = Field(8, ge=1, le=256)
    answer_strategies: list[str] = Field(
        default_factory=lambda: ["direct"],
        validation_alias=AliasChoices("answer_strategies", "strategies"),
    )
    temperatures: list[float] = Field(default_factory=lambda: [0.0])
    n_minibatches: int = Field(3, ge=1)

    @field_validator("demo_counts")
    @classmethod
    def _counts(cls, value: list[int]) -> list[int]:
        if not value or any(count < 0 for count in value):
            raise ValueError("demo_counts needs at least one count, none negative")
        return sorted(set(value))

    @field_validator("answer_strategies")
    @classmethod
    def _strategies(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in ANSWER_STRATEGIES]
        if not value or unknown:
            raise ValueError(f"answer_strategies must be some of {', '.join(ANSWER_STRATEGIES)}")
        return value

    @field_validator("positions")
    @classmethod
    def _positions(cls, value: list[str]) -> list[str]:
        if not value or any(name not in POSITIONS for name in value):
            raise ValueError("positions must be some of system, user")
        return value

    @field_validator("temperatures")
    @classmethod
    def _temperatures(cls, value: list[float]) -> list[float]:
        if not value or any(not 0.0 <= t <= 2.0 for t in value):
            raise ValueError("temperatures must be within [0, 2]")
        return value


class BudgetSettings(BaseModel):
    """Limits of the search phase; the first one reached stops it cleanly.

    The final phase (finalists on validation, ablation, the test split) has its own
    budget: ``final_calls`` model calls, by default room for every step it can take.
    """

    model_config = ConfigDict(extra="forbid")

    max_calls: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_usd: float | None = Field(None, gt=0)
    max_wall_s: float | None = Field(None, gt=0)
    final_calls: int | None = Field(None, ge=1)
