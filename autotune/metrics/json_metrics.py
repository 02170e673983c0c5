"""JSON metrics: ``json_valid``, ``json_schema`` and ``json_fields`` (extraction tasks)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import jsonschema
import pydantic

from autotune.errors import ConfigError
from autotune.metrics._options import MetricOptions
from autotune.metrics._text import find_json, normalize_text, shorten
from autotune.metrics.base import BaseMetric, Score
from autotune.metrics.registry import BuildContext, register_metric

if TYPE_CHECKING:
    from autotune.bench.case import Case

_NO_JSON = Score(0.0, "no JSON object or array in the answer")
_MISSING = object()


class _ValidOptions(MetricOptions):
    require: Literal["any", "object", "array"] = "any"


@register_metric("json_valid")
class JsonValid(BaseMetric):
    """1 when the answer holds a JSON object or array (code fences and chatter allowed)."""

    def __init__(self, require: Literal["any", "object", "array"] = "any") -> None:
        self.require = require

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> JsonValid:
        return cls(_ValidOptions.model_validate(options).require)

    def score(self, output: str, case: Case) -> Score:
        value = find_json(output)
        if value is None:
            return _NO_JSON
        if self.require == "object" and not isinstance(value, dict):
            return Score(0.0, "JSON is an array, expected an object")
        if self.require == "array" and not isinstance(value, list):
            return Score(0.0, "JSON is an object, expected an array")
        return Score(1.0)


class _SchemaOptions(MetricOptions):
    schema_: dict[str, Any] | None = pydantic.Field(default=None, alias="schema")
    schema_file: str | None = None


def _read_schema(parsed: _SchemaOptions, context: BuildContext) -> dict[str, Any]:
    if (parsed.schema_ is None) == (parsed.schema_file is None):
        raise ConfigError("give exactly one of 'schema' or 'schema_file'", field="schema")
    if parsed.schema_ is not None:
        return parsed.schema_
    path = context.resolve(str(parsed.schema_file))
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}", field="schema_file") from None
    except ValueError as error:
        raise ConfigError(f"{path} is not valid JSON: {error}", field="schema_file") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} must hold a JSON object", field="schema_file")
    return loaded


@register_metric("json_schema")
class JsonSchema(BaseMetric):
    """1 when the first JSON value in the answer validates against a JSON Schema."""

    def __init__(self, schema: dict[str, Any]) -> None:
        validator_class = jsonschema.validators.validator_for(schema)
        try:
            validator_class.check_schema(schema)
        except jsonschema.SchemaError as error:
            raise ConfigError(f"invalid JSON schema: {error.message}", field="schema") from None
        self.validator = validator_class(schema)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> JsonSchema:
        return cls(_read_schema(_SchemaOptions.model_validate(options), context))

    def score(self, output: str, case: Case) -> Score:
        value = find_json(output)
        if value is None:
            return _NO_JSON
        error = jsonschema.exceptions.best_match(self.validator.iter_errors(value))
        if error is None:
            return Score(1.0)
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        return Score(0.0, f"schema: {where}: {shorten(error.message)}")


def _as_number(text: str) -> float | None:
    stripped = text.strip().replace(",", "").replace("$", "").replace("−", "-")
    if not any(ch.isdigit() for ch in stripped):
        return None
    try:
        number = float(stripped)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _normalized(value: Any) -> Any:
    """A comparable form: numbers (also "3") as floats, text normalized, containers deep."""
    if isinstance(value, bool):
        return ("bool", value)  # keep True apart from 1
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an int too big for a float: compare exactly
            return value
    if isinstance(value, str):
        number = _as_number(value)
        return number if number is not None else normalize_text(value)
    if isinstance(value, Mapping):
        return {normalize_text(str(k)): _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    return value


def _expected_fields(expected: Any) -> dict[str, Any] | None:
    if isinstance(expected, str):
        try:
            expected = json.loads(expected)
        except ValueError:
            return None
    return dict(expected) if isinstance(expected, Mapping) else None


class _FieldsOptions(MetricOptions):
    fields: list[str] | None = None


@register_metric("json_fields")
class JsonFields(BaseMetric):
    """Fraction of the expected JSON object's fields the answer's JSON object matches.

    Keys match ignoring case; values compare normalized (``"3"`` equals ``3``,
    ``"Ada  Lovelace"`` equals ``"ada lovelace"``). Option ``fields`` limits the check.
    """

    def __init__(self, fields: list[str] | None = None) -> None:
        self.fields = fields

    @classmethod
    def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> JsonFields:
        return cls(_FieldsOptions.model_validate(options).fields)

    def score(self, output: str, case: Case) -> Score:
        expected = _expected_fields(case.expected)
        if expected is None:
            return Score(0.0, "expected output is not a JSON object")
        names = self.fields if self.fields is not None else list(expected)
        if not names:
            return Score(1.0)
        answer = find_json(output)
        if not isinstance(answer, dict):
            return Score(0.0, "no JSON object in the answer")
        by_key = {normalize_text(str(key)): value for key, value in answer.items()}
        wrong: list[str] = []
        for name in names:
            got = answer.get(name, by_key.get(normalize_text(name), _MISSING))
            if got is _MISSING or _normalized(got) != _normalized(expected.get(name)):
                wrong.append(name)
        if not wrong:
            return Score(1.0)
        detail = ", ".join(wrong[:3]) + ("..." if len(wrong) > 3 else "")
        return Score(1.0 - len(wrong) / len(names), f"wrong or missing: {detail}")
