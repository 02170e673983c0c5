"""The operator extension point: parent(s) and their failures in, one child out."""

from __future__ import annotations

import abc
import random
from dataclasses import dataclass
from typing import ClassVar

from autotune.search.base import SearchSpace
from autotune.search.candidate import Candidate
from autotune.search.parts import PromptParts
from autotune.search.population import Population


@dataclass
class OperatorContext:
    """What an operator may use besides its parent.

    Attributes:
        space: The study's fixed parts (cases, demo pool, brief, settings).
        population: Every candidate so far (merge partners come from its front).
        front: The per-case Pareto front: candidate number to cases won.
        rng: This step's random source (seeded by the trial number, so resumable).
        sample_index: Makes this step's Meta-LLM samples differ from other steps'.
    """

    space: SearchSpace
    population: Population
    front: dict[int, int]
    rng: random.Random
    sample_index: int


@dataclass
class Child:
    """An operator's result: new parts, or ``None`` with the reason in ``note``."""

    parts: PromptParts | None
    parents: tuple[int, ...]
    note: str = ""
    raw: str = ""
    calls: int = 0


class BaseOperator(abc.ABC):
    """Changes one part of a parent prompt.

    ``targets`` lists the parts it can change in this parent (empty: not applicable);
    ``apply`` makes the child. An operator never raises on a weak Meta-LLM's answer: an
    unusable edit is a :class:`Child` without parts, recorded as a failed candidate.
    """

    name: ClassVar[str] = "operator"
    # How often this kind is drawn, relative to the others, before any evidence.
    prior: ClassVar[float] = 1.0
    # Also applied once to the seed when the search starts, the child scored on every
    # search case: a change that pays on most tasks need not wait to be drawn.
    opens: ClassVar[bool] = False

    @abc.abstractmethod
    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        """The parts this operator can change in ``parent``."""

    @abc.abstractmethod
    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        """A child of ``parent`` with ``target`` changed."""
