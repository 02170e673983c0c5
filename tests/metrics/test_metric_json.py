"""Unit tests for json_valid, json_schema and json_fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotune.bench.case import Case
from autotune.errors import ConfigError
from autotune.metrics import build_metric

ORDER = {"name": "Ada Lovelace", "product": "desk lamp", "quantity": 3}


def test_json_valid_is_lenient_about_surroundings() -> None:
    metric = build_metric({"name": "json_valid"})
    case = Case("c", {}, None)
    assert metric.score('Sure! ```json\n{"a": [1, 2]}\n``` Anything else?', case).value == 1.0
    assert metric.score('The result: {"a": 1} -- and {broken', case).value == 1.0
    assert metric.score("Sets like {1, 2} are not JSON [but] {'a': 1} neither", case).value == 0.0
    assert metric.score("[" * 5000, case).value == 0.0
    array_only = build_metric({"name": "json_valid", "require": "object"})
    assert array_only.score("[1, 2]", case).value == 0.0


def test_json_schema_inline_and_from_file(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"quantity": {"type": "integer"}}}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    suite = tmp_path / "suite.toml"
    from_file = build_metric(
        {"name": "json_schema", "schema_file": "schema.json"}, source_file=suite
    )
    inline = build_metric({"name": "json_schema", "schema": schema})
    case = Case("c", {}, None)
    for metric in (from_file, inline):
        assert metric.score('{"quantity": 3}', case).value == 1.0
        bad = metric.score('{"quantity": "three"}', case)
        assert bad.value == 0.0 and "quantity" in bad.reason


def test_json_schema_config_errors(tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    with pytest.raises(ConfigError, match="exactly one"):
        build_metric({"name": "json_schema"}, source_file=suite)
    with pytest.raises(ConfigError, match="cannot read") as info:
        build_metric({"name": "json_schema", "schema_file": "nope.json"}, source_file=suite)
    assert info.value.field == "metric.schema_file" and info.value.file == str(suite)
    with pytest.raises(ConfigError, match="invalid JSON schema"):
        build_metric({"name": "json_schema", "schema": {"type": 12}})


def test_json_fields_counts_matched_fields_normalized() -> None:
    metric = build_metric({"name": "json_fields"})
    case = Case("c", {}, ORDER)
    perfect = '{"Name": "ada  lovelace", "product": "Desk lamp.", "quantity": "3"}'
    assert metric.score(perfect, case).value == 1.0
    partial = metric.score('{"name": "Ada Lovelace", "product": "lamp", "quantity": 4}', case)
    assert partial.value == pytest.approx(1 / 3)
    assert "product" in partial.reason and "quantity" in partial.reason
    assert metric.score("name: Ada", case).value == 0.0


def test_json_fields_accepts_expected_as_json_text_and_a_field_subset() -> None:
    metric = build_metric({"name": "json_fields", "fields": ["quantity"]})
    case = Case("c", {}, json.dumps(ORDER))
    assert metric.score('{"quantity": 3, "name": "Bob"}', case).value == 1.0
    assert metric.score('{"quantity": true}', Case("c", {}, {"quantity": 1})).value == 0.0
    not_object = build_metric({"name": "json_fields"}).score("{}", Case("c", {}, "plain"))
    assert not_object.value == 0.0 and "not a JSON object" in not_object.reason
