"""Answer strategies: how a prompt is run on one case (``direct``, ``step_by_step``, ...).

Look one up by name with :func:`get_strategy`; a prompt names its strategy in
``Prompt.strategy``.
"""

from __future__ import annotations

from collections.abc import Callable

from autotune.errors import ConfigError
from autotune.strategies.base import BaseStrategy, StrategyResult, messages_as_text
from autotune.strategies.direct import DirectStrategy
from autotune.strategies.reflexion import ReflexionStrategy
from autotune.strategies.step_by_step import StepByStepStrategy

__all__ = [
    "BaseStrategy",
    "DirectStrategy",
    "ReflexionStrategy",
    "StepByStepStrategy",
    "StrategyResult",
    "available_strategies",
    "get_strategy",
    "messages_as_text",
]

_FACTORIES: dict[str, Callable[..., BaseStrategy]] = {
    DirectStrategy.name: DirectStrategy,
    StepByStepStrategy.name: StepByStepStrategy,
    ReflexionStrategy.name: ReflexionStrategy,
}


def available_strategies() -> list[str]:
    """The names :func:`get_strategy` accepts."""
    return sorted(_FACTORIES)


def get_strategy(name: str, **options: object) -> BaseStrategy:
    """A new strategy by name; ``options`` go to its constructor (e.g. ``rounds=2``).

    Raises:
        ConfigError: No strategy has that name (field ``strategy``).
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        choices = ", ".join(available_strategies())
        raise ConfigError(f"unknown strategy {name!r}; choose one of: {choices}", field="strategy")
    return factory(**options)
