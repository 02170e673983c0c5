"""Load a benchmark suite file (TOML / YAML / JSON) and its data file.

A suite::

    name = "sentiment"
    description = "Classify movie and product reviews as positive or negative."
    data = "cases.jsonl"            # JSONL, CSV or TSV, relative to this file
    input_template = "{text}"       # the user message; {field} = a data column
    expected = "label"              # the column with the expected output ("" = none)
    labels = ["positive", "negative"]
    split = { train = 0.5, validation = 0.25, test = 0.25, seed = 0 }

    [[metrics]]
    name = "label"

Every mistake becomes one :class:`ConfigError` (suite file) or :class:`DataError` (data
file) naming the file, the line and the field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune.bench._data import Row, Table, read_table
from autotune.bench._locate import read_validated, with_line
from autotune.bench._splits import SPLIT_ALIASES, split_by_names, split_by_ratio
from autotune.bench._suite_model import SuiteSpec
from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.errors import ConfigError, DataError
from autotune.metrics.label import canonical_label
from autotune.metrics.registry import build_metric_set
from autotune.prompt import template_fields

if TYPE_CHECKING:
    from autotune.llm.base import BaseLLM

logger = logging.getLogger(__name__)


def _read_suite(path: Path) -> tuple[SuiteSpec, str]:
    return read_validated(path, SuiteSpec, "suite")


def _check_template(spec: SuiteSpec, table: Table, suite: Path) -> None:
    columns = table.columns()
    fields = template_fields(spec.input_template)
    if not fields:
        message = "has no {field} placeholder, so every case would look the same"
        raise ConfigError(message, file=str(suite), field="input_template")
    if spec.expected and spec.expected in fields:
        message = f"uses the expected field {{{spec.expected}}}: the answer would leak"
        raise ConfigError(message, file=str(suite), field="input_template")
    unknown = sorted(fields - columns)
    if unknown:
        message = (
            f"placeholder {{{unknown[0]}}} matches no column of {table.path.name}"
            f" (columns: {', '.join(sorted(columns))})"
        )
        raise ConfigError(message, file=str(suite), field="input_template")
    for name in (spec.expected, spec.id, spec.split.column if spec.split else None):
        if name and table.header is not None and name not in table.header:
            message = f"no column {name!r} in the header ({', '.join(table.header)})"
            raise DataError(message, file=str(table.path), line=1, field=name)


def _value(row: Row, name: str, table: Table) -> Any:
    value = row.values.get(name)
    if value is None:
        raise DataError("missing field", file=str(table.path), line=row.line, field=name)
    return value


def _expected(row: Row, spec: SuiteSpec, table: Table) -> Any:
    if not spec.expected:
        return None
    value = _value(row, spec.expected, table)
    if spec.labels:
        label = canonical_label(value, spec.labels)
        if label is None:
            message = f"{value!r} is not one of the labels {spec.labels}"
            raise DataError(message, file=str(table.path), line=row.line, field=spec.expected)
        return label
    return value


def _input_value(row: Row, name: str, table: Table) -> Any:
    """A value that fills the user template: text or a number, never a structure."""
    value = _value(row, name, table)
    if isinstance(value, dict | list):
        kind = "a JSON object" if isinstance(value, dict) else "a JSON list"
        message = f"is {kind}, but the input template needs text or a number"
        raise DataError(message, file=str(table.path), line=row.line, field=name)
    return value


def _make_case(
    row: Row, spec: SuiteSpec, table: Table, id_field: str | None, required: set[str]
) -> Case:
    for name in sorted(required):
        _input_value(row, name, table)
    split_column = spec.split.column if spec.split else None
    reserved = {spec.expected, id_field, split_column}
    inputs = {name: value for name, value in row.values.items() if name not in reserved}
    case_id = str(_value(row, id_field, table)) if id_field else f"{table.path.stem}-{row.line}"
    return Case(
        id=case_id,
        inputs=inputs,
        expected=_expected(row, spec, table),
        source=f"{table.path}:{row.line}",
        meta={"split": row.values.get(split_column)} if split_column else {},
    )


def _make_cases(spec: SuiteSpec, table: Table, required: set[str]) -> tuple[Case, ...]:
    """Cases from rows; every row must have the ``required`` fields and the expected one."""
    id_field = spec.id or ("id" if "id" in table.columns() else None)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        case = _make_case(row, spec, table, id_field, required)
        if case.id in seen:
            message = f"duplicate id {case.id!r} (first on line {seen[case.id]})"
            raise DataError(message, file=str(table.path), line=row.line, field=id_field)
        seen[case.id] = row.line
        cases.append(case)
    return tuple(cases)


def _make_splits(
    spec: SuiteSpec, table: Table, cases: Sequence[Case]
) -> dict[str, tuple[Case, ...]]:
    if spec.split is None:
        return {}
    column = spec.split.column
    if column is None:
        stratify = (lambda case: str(case.expected)) if spec.labels else None
        return split_by_ratio(cases, spec.split.ratios(), seed=spec.split.seed, stratify=stratify)
    names: list[str] = []
    for row in table.rows:
        raw = str(_value(row, column, table)).strip().lower()
        if raw not in SPLIT_ALIASES:
            message = f"split {raw!r} is not train, validation or test"
            raise DataError(message, file=str(table.path), line=row.line, field=column)
        names.append(SPLIT_ALIASES[raw])
    return split_by_names(cases, names)


def _warn_small_splits(
    spec: SuiteSpec, splits: Mapping[str, Sequence[Case]], total: int, path: Path
) -> None:
    """Warn (with the numbers) when a split the suite asks for came out empty."""
    if spec.split is None or spec.split.column is not None:
        return
    ratios = spec.split.ratios()
    empty = [name for name, ratio in ratios.items() if ratio > 0 and not splits.get(name)]
    if not empty:
        return
    asked = " / ".join(f"{name} {ratio:g}" for name, ratio in ratios.items())
    got = ", ".join(f"{name} {len(splits.get(name, ()))}" for name in ratios)
    logger.warning(
        "%s: %d cases are too few for the splits %s: got %s (no %s cases)",
        path,
        total,
        asked,
        got,
        " or ".join(empty),
    )


def _build(path: Path, spec: SuiteSpec, llm_factory: Callable[[str], BaseLLM] | None) -> Benchmark:
    data_path = Path(spec.data) if Path(spec.data).is_absolute() else path.parent / spec.data
    if not data_path.is_file():
        raise ConfigError(f"data file {data_path} not found", file=str(path), field="data")
    metrics = build_metric_set(
        spec.metric_specs(), source_file=path, labels=spec.labels or (), llm_factory=llm_factory
    )
    table = read_table(data_path)
    _check_template(spec, table, path)
    cases = _make_cases(spec, table, template_fields(spec.input_template))
    default_name = path.parent.name if path.stem == "suite" else path.stem
    splits = _make_splits(spec, table, cases)
    _warn_small_splits(spec, splits, len(cases), path)
    return Benchmark(
        name=spec.name or default_name,
        cases=cases,
        metrics=metrics,
        user_template=spec.input_template,
        description=spec.description.strip(),
        splits=splits,
        labels=tuple(spec.labels or ()),
        source=str(path),
    )


def load_benchmark(
    path: str | Path, *, llm_factory: Callable[[str], BaseLLM] | None = None
) -> Benchmark:
    """Load a suite file and its data into a :class:`Benchmark`.

    Args:
        path: The suite file (``.toml``, ``.yaml``/``.yml`` or ``.json``).
        llm_factory: Builds judge models from model strings (default ``load_llm``).

    Raises:
        ConfigError: A bad suite file (names file, line, field).
        DataError: A bad data file (names file, line, field).
    """
    path = Path(path)
    spec, text = _read_suite(path)
    try:
        return _build(path, spec, llm_factory)
    except ConfigError as error:
        raise with_line(error, path, text) from None


def load_cases(
    path: str | Path,
    *,
    expected: str | None = "expected",
    id_field: str | None = None,
) -> tuple[Case, ...]:
    """Read a bare data file into cases: every column but ``expected``/``id`` is an input.

    Args:
        path: A JSONL, CSV or TSV file.
        expected: The expected-output column (required in every row), or None.
        id_field: The id column; by default ``id`` when the data has one.

    Raises:
        DataError: A malformed line or a missing field (names file, line, field).
    """
    table = read_table(path)
    spec = SuiteSpec(data=str(path), expected=expected or "", id=id_field)
    if expected and table.header is not None and expected not in table.header:
        message = f"no column {expected!r} in the header ({', '.join(table.header)})"
        raise DataError(message, file=str(table.path), line=1, field=expected)
    return _make_cases(spec, table, set())
