"""The pydantic model of a suite file (TOML / YAML / JSON), validated before loading."""

from __future__ import annotations

from typing import Any

import pydantic

_DEFAULT_RATIOS = {"train": 0.6, "validation": 0.2, "test": 0.2}


class SplitSpec(pydantic.BaseModel):
    """``{train, validation, test, seed}`` ratios, or ``{column}`` naming a split column."""

    model_config = pydantic.ConfigDict(extra="forbid")

    column: str | None = pydantic.Field(default=None, min_length=1)
    train: float | None = pydantic.Field(default=None, ge=0.0, le=1.0)
    validation: float | None = pydantic.Field(default=None, ge=0.0, le=1.0)
    test: float | None = pydantic.Field(default=None, ge=0.0, le=1.0)
    seed: int = 0

    def given_ratios(self) -> dict[str, float | None]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    @pydantic.model_validator(mode="after")
    def _check(self) -> SplitSpec:
        given = {name: value for name, value in self.given_ratios().items() if value is not None}
        if self.column is not None and given:
            raise ValueError("give either 'column' or ratios, not both")
        if self.column is None and given:
            total = sum(given.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"train + validation + test must add up to 1 (got {total:g})")
        return self

    def ratios(self) -> dict[str, float]:
        """The ratios; unset ones are 0, or the 0.6/0.2/0.2 default when none is set."""
        given = self.given_ratios()
        if all(value is None for value in given.values()):
            return dict(_DEFAULT_RATIOS)
        return {name: value or 0.0 for name, value in given.items()}


class SuiteSpec(pydantic.BaseModel):
    """A suite file: where the cases are, how to render them, how to score answers."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str | None = pydantic.Field(default=None, min_length=1)
    description: str = ""
    data: str = pydantic.Field(min_length=1)
    input_template: str = pydantic.Field(default="{input}", min_length=1)
    expected: str = "expected"
    id: str | None = pydantic.Field(default=None, min_length=1)
    labels: list[str] | None = None
    metrics: list[dict[str, Any] | str] | None = None
    split: SplitSpec | None = None

    @pydantic.field_validator("labels")
    @classmethod
    def _check_labels(cls, labels: list[str] | None) -> list[str] | None:
        if labels is None:
            return None
        cleaned = [label.strip() for label in labels]
        if len(cleaned) < 2 or any(not label for label in cleaned):
            raise ValueError("needs at least two non-empty labels")
        if len({label.casefold() for label in cleaned}) != len(cleaned):
            raise ValueError("labels must be unique (ignoring case)")
        return cleaned

    def metric_specs(self) -> list[dict[str, Any] | str]:
        """The metrics; by default ``label`` when labels are given, else ``exact``."""
        if self.metrics is not None:
            return self.metrics
        return [{"name": "label" if self.labels else "exact"}]
