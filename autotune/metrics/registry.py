"""Metric registry: metric names in suite files -> metric objects.

Built-in metrics register themselves with :func:`register_metric`; a name with a colon
(``module:function`` or ``path/to/file.py:function``) is a user's function, wrapped by
:class:`~autotune.metrics.custom.FunctionMetric`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import pydantic

from autotune.errors import ConfigError
from autotune.metrics.base import BaseMetric, MetricSet, WeightedMetric

if TYPE_CHECKING:
    from autotune.llm.base import BaseLLM


@dataclass(frozen=True)
class BuildContext:
    """What a metric may need from its surroundings when it is built.

    Attributes:
        source_file: The suite file the spec came from; relative paths in options
            (``schema_file``, custom metric files) are resolved against its folder.
        labels: The benchmark's allowed labels (for the ``label`` metric).
        llm_factory: Builds a model from a model string (for the ``judge`` metric);
            None means :func:`autotune.llm.load_llm`.
    """

    source_file: Path | None = None
    labels: tuple[str, ...] = ()
    llm_factory: Callable[[str], BaseLLM] | None = None

    def resolve(self, path: str) -> Path:
        """``path`` relative to the suite file's folder (absolute paths unchanged)."""
        candidate = Path(path)
        if candidate.is_absolute() or self.source_file is None:
            return candidate
        return self.source_file.parent / candidate


class MetricFactory(Protocol):
    """A registered metric class: builds itself from its options."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> BaseMetric: ...


Builder = Callable[[Mapping[str, Any], BuildContext], BaseMetric]
MetricT = TypeVar("MetricT", bound=type[BaseMetric])

_REGISTRY: dict[str, type[BaseMetric]] = {}


def register_metric(name: str) -> Callable[[MetricT], MetricT]:
    """Class decorator: make a metric class available under ``name`` in suite files.

    The class needs a classmethod ``from_options(options, context) -> metric``; it
    validates its own options (pydantic errors become :class:`ConfigError`).
    """

    def decorate(cls: MetricT) -> MetricT:
        if not callable(getattr(cls, "from_options", None)):
            raise TypeError(f"metric class {cls.__name__} needs a from_options classmethod")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def available_metrics() -> list[str]:
    """Names of the registered metrics, sorted."""
    return sorted(_REGISTRY)


class _Spec(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")

    name: str = pydantic.Field(min_length=1)
    weight: float = pydantic.Field(default=1.0, ge=0.0)


def _field_path(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _config_error(
    error: pydantic.ValidationError, prefix: str, source_file: Path | None
) -> ConfigError:
    first = error.errors()[0]
    return ConfigError(
        str(first["msg"]),
        file=str(source_file) if source_file else None,
        field=_field_path(prefix, first["loc"]),
    )


def _factory(name: str, field: str, context: BuildContext) -> Builder:
    if ":" in name:
        from autotune.metrics.custom import function_metric_builder

        return function_metric_builder(name, context=context, field=field)
    registered = _REGISTRY.get(name)
    if registered is None:
        known = ", ".join(available_metrics())
        raise ConfigError(
            f"unknown metric {name!r} (known: {known}; or 'module:function')",
            file=str(context.source_file) if context.source_file else None,
            field=field,
        )
    return cast(MetricFactory, registered).from_options


def _build(spec: Mapping[str, Any] | str, field: str, context: BuildContext) -> WeightedMetric:
    if isinstance(spec, str):  # shorthand: metrics = ["exact"]
        spec = {"name": spec}
    try:
        parsed = _Spec.model_validate(spec)
    except pydantic.ValidationError as error:
        raise _config_error(error, field, context.source_file) from None
    builder = _factory(parsed.name, f"{field}.name", context)
    options = dict(parsed.model_extra or {})
    try:
        metric = builder(options, context)
    except pydantic.ValidationError as error:
        raise _config_error(error, field, context.source_file) from None
    except ConfigError as error:
        raise ConfigError(
            error.message,
            file=error.file or (str(context.source_file) if context.source_file else None),
            line=error.line,
            field=f"{field}.{error.field}" if error.field else field,
        ) from None
    return WeightedMetric(metric, parsed.weight)


def build_metric(
    spec: Mapping[str, Any] | str,
    *,
    source_file: str | Path | None = None,
    labels: Sequence[str] = (),
    llm_factory: Callable[[str], BaseLLM] | None = None,
    field: str = "metric",
) -> BaseMetric:
    """Build one metric from a spec like ``{"name": "numeric", "tolerance": 0.01}``.

    Raises:
        ConfigError: Unknown name, bad option, unimportable custom function. The error
            names ``source_file`` and the field (``field.name``, ``field.tolerance``).
    """
    context = BuildContext(
        Path(source_file) if source_file is not None else None, tuple(labels), llm_factory
    )
    return _build(spec, field, context).metric


def build_metric_set(
    specs: Sequence[Mapping[str, Any] | str],
    *,
    source_file: str | Path | None = None,
    labels: Sequence[str] = (),
    llm_factory: Callable[[str], BaseLLM] | None = None,
    field: str = "metrics",
) -> MetricSet:
    """Build the weighted metric set of a suite; errors name ``metrics[i].<option>``.

    Two metrics of the same kind get distinct names (``contains``, ``contains#2``) so
    per-metric scores never overwrite each other.
    """
    context = BuildContext(
        Path(source_file) if source_file is not None else None, tuple(labels), llm_factory
    )
    if not specs:
        raise ConfigError(
            "a suite needs at least one metric",
            file=str(context.source_file) if context.source_file else None,
            field=field,
        )
    weighted: list[WeightedMetric] = []
    seen: dict[str, int] = {}
    for index, spec in enumerate(specs):
        item = _build(spec, f"{field}[{index}]", context)
        seen[item.metric.name] = seen.get(item.metric.name, 0) + 1
        if seen[item.metric.name] > 1:
            item.metric.name = f"{item.metric.name}#{seen[item.metric.name]}"
        weighted.append(item)
    if sum(item.weight for item in weighted) <= 0:
        raise ConfigError(
            "at least one metric needs a weight above 0",
            file=str(context.source_file) if context.source_file else None,
            field=field,
        )
    return MetricSet(weighted)
