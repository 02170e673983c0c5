"""Answer strategies: how a prompt is run on one case (``direct``, ``step_by_step``, ...).

Look one up by name with :func:`get_answer_strategy`; a prompt names its strategy in
``Prompt.strategy``.
"""

from __future__ import annotations

from collections.abc import Callable

from autotune.answer_strategies.base import AnswerResult, BaseAnswerStrategy, messages_as_text
from autotune.answer_strategies.direct import DirectAnswer
from autotune.answer_strategies.reflexion import ReflexionAnswer
from autotune.answer_strategies.step_by_step import StepByStepAnswer
from autotune.errors import ConfigError

__all__ = [
    "AnswerResult",
    "BaseAnswerStrategy",
    "DirectAnswer",
    "ReflexionAnswer",
    "StepByStepAnswer",
    "available_answer_strategies",
    "get_answer_strategy",
    "messages_as_text",
]

_FACTORIES: dict[str, Callable[..., BaseAnswerStrategy]] = {
    DirectAnswer.name: DirectAnswer,
    StepByStepAnswer.name: StepByStepAnswer,
    ReflexionAnswer.name: ReflexionAnswer,
}


def available_answer_strategies() -> list[str]:
    """The names :func:`get_answer_strategy` accepts."""
    return sorted(_FACTORIES)


def get_answer_strategy(name: str, **options: object) -> BaseAnswerStrategy:
    """A new strategy by name; ``options`` go to its constructor (e.g. ``rounds=2``).

    Raises:
        ConfigError: No strategy has that name (field ``strategy``).
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        choices = ", ".join(available_answer_strategies())
        raise ConfigError(f"unknown strategy {name!r}; choose one of: {choices}", field="strategy")
    return factory(**options)
