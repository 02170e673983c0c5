"""User metric functions named ``module:function`` or ``path/to/file.py:function``.

The function takes ``(output: str, case: Case, **options)`` and returns a float, a bool,
a ``(value, reason)`` tuple or a :class:`Score`; the value is clamped to [0, 1].
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from autotune.errors import ConfigError
from autotune.metrics._text import shorten
from autotune.metrics.base import BaseMetric, Score

if TYPE_CHECKING:
    from autotune.bench.case import Case
    from autotune.metrics.registry import BuildContext, Builder

UserFunction = Callable[..., Any]


def _as_score(result: Any) -> Score:
    """Turn what a user function returned into a Score (clamped; NaN is 0)."""
    if isinstance(result, Score):
        return result
    reason = ""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
        result, reason = result
    if isinstance(result, bool):
        return Score(1.0 if result else 0.0, reason)
    if isinstance(result, int | float):
        value = float(result)
        if math.isnan(value):
            return Score(0.0, "custom metric returned NaN")
        return Score(min(1.0, max(0.0, value)), reason)
    return Score(0.0, f"custom metric returned {type(result).__name__}, not a number")


class FunctionMetric(BaseMetric):
    """Wraps a user function as a metric; its exceptions become a 0 with a reason."""

    def __init__(
        self, function: UserFunction, name: str, options: Mapping[str, Any] | None = None
    ) -> None:
        self.function = function
        self.name = name
        self.options = dict(options or {})

    def score(self, output: str, case: Case) -> Score:
        try:
            result = self.function(output, case, **self.options)
        except Exception as error:  # the user's bug must not lose the run's finished work
            return Score(0.0, f"{self.name} raised {type(error).__name__}: {shorten(str(error))}")
        return _as_score(result)


def _load_file(path: Path) -> ModuleType:
    module_name = "autotune_user_metric_" + hashlib.sha1(str(path).encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_module(target: str, context: BuildContext) -> ModuleType:
    is_path = target.endswith(".py") or "/" in target or "\\" in target
    if is_path:
        path = context.resolve(target)
        if not path.is_file():
            raise ImportError(f"no file {path}")
        return _load_file(path)
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError:
        # A module next to the suite file works without touching sys.path.
        beside = context.resolve(target.replace(".", "/") + ".py")
        if context.source_file is not None and beside.is_file():
            return _load_file(beside)
        raise


def load_function(spec: str, *, context: BuildContext, field: str) -> UserFunction:
    """Import the function a ``module:function`` / ``file.py:function`` name points at.

    Raises:
        ConfigError: The module or file cannot be imported, or has no such function.
    """
    target, _, attribute = spec.rpartition(":")
    file = str(context.source_file) if context.source_file else None
    if not target or not attribute:
        raise ConfigError(
            f"custom metric {spec!r} must look like 'module:function'", file=file, field=field
        )
    try:
        module = _load_module(target, context)
    except Exception as error:  # import runs user code: any failure is a config problem
        message = f"cannot import {target!r}: {type(error).__name__}: {error}"
        raise ConfigError(message, file=file, field=field) from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConfigError(f"{target!r} has no function {attribute!r}", file=file, field=field)
    return function  # type: ignore[no-any-return]


def function_metric_builder(spec: str, *, context: BuildContext, field: str) -> Builder:
    """A registry builder for a custom function; extra options go to it as keywords."""
    function = load_function(spec, context=context, field=field)
    name = spec.rpartition(":")[2]

    def build(options: Mapping[str, Any], _context: BuildContext) -> BaseMetric:
        return FunctionMetric(function, name, options)

    return build
