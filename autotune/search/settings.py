"""Search settings: what the Optuna study may choose, and how it scores candidates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

STRATEGIES = ("direct", "step_by_step", "reflexion")
POSITIONS = ("system", "user")


class SearchSettings(BaseModel):
    """The search space and the scoring schedule of one study.

    The instruction pool has ``pool_size`` slots: slot 0 is the seed prompt, slots
    ``1..n_generated`` are drafted by the Prompt Generator before the first trial, and
    the remaining slots are filled on demand by the Critic and Refiner from the best
    trial's failures the first time the sampler picks them.
    """

    model_config = ConfigDict(extra="forbid")

    n_trials: int = Field(40, ge=1)
    seed: int = 0
    sampler: Literal["tpe", "random"] = "tpe"
    pruner: Literal["median", "none"] = "median"
    pool_size: int = Field(8, ge=1, le=64)
    n_generated: int = Field(3, ge=0)
    demo_counts: list[int] = Field(default_factory=lambda: [0, 2, 4, 6, 8])
    n_demo_sets: int = Field(8, ge=1, le=256)
    strategies: list[str] = Field(default_factory=lambda: list(STRATEGIES))
    positions: list[str] = Field(default_factory=lambda: list(POSITIONS))
    temperatures: list[float] = Field(default_factory=lambda: [0.0, 0.3, 0.7])
    minibatch_size: int = Field(10, ge=1)
    n_minibatches: int = Field(3, ge=1)
    n_validate: int = Field(4, ge=1)
    concurrency: int = Field(4, ge=1)
    max_tokens: int = Field(64, ge=1)
    meta_temperature: float = Field(0.7, ge=0.0, le=2.0)
    meta_max_tokens: int = Field(400, ge=16)

    @field_validator("demo_counts")
    @classmethod
    def _counts(cls, value: list[int]) -> list[int]:
        if not value or any(count < 0 for count in value):
            raise ValueError("demo_counts needs at least one count, none negative")
        return sorted(set(value))

    @field_validator("strategies")
    @classmethod
    def _strategies(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in STRATEGIES]
        if not value or unknown:
            raise ValueError(f"strategies must be some of {', '.join(STRATEGIES)}")
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
    """Limits of the search phase; the first one reached stops it cleanly."""

    model_config = ConfigDict(extra="forbid")

    max_calls: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_usd: float | None = Field(None, gt=0)
    max_wall_s: float | None = Field(None, gt=0)
