"""Tests for the metric registry, metric sets and user (custom) metric functions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from autotune.bench.case import Case
from autotune.errors import ConfigError
from autotune.metrics import (
    BaseMetric,
    BuildContext,
    Score,
    available_metrics,
    build_metric,
    build_metric_set,
    register_metric,
)

CASE = Case("c", {"text": "hello"}, "hello")


def test_unknown_metric_names_field_and_file(tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    with pytest.raises(ConfigError) as info:
        build_metric_set([{"name": "exact"}, {"name": "exactt"}], source_file=suite)
    assert info.value.field == "metrics[1].name"
    assert info.value.file == str(suite)
    assert "exact" in info.value.message


def test_unknown_option_and_bad_weight_are_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        build_metric_set([{"name": "numeric", "tolerence": 1}])
    assert info.value.field == "metrics[0].tolerence"
    with pytest.raises(ConfigError) as info:
        build_metric_set([{"name": "exact", "weight": -1}])
    assert info.value.field == "metrics[0].weight"
    with pytest.raises(ConfigError, match="weight above 0"):
        build_metric_set([{"name": "exact", "weight": 0}])


def test_metric_set_weights_and_distinct_names() -> None:
    metrics = build_metric_set(
        [
            {"name": "contains", "value": "hello", "weight": 3},
            {"name": "contains", "value": "bye"},
            "exact",
        ]
    )
    assert metrics.names == ["contains", "contains#2", "exact"]
    total, scores = metrics.score("hello", CASE)
    assert total == pytest.approx(4 / 5)
    assert scores["contains#2"].value == 0.0


def test_register_metric_adds_a_named_metric() -> None:
    @register_metric("test_length_under")
    class LengthUnder(BaseMetric):
        def __init__(self, limit: int) -> None:
            self.limit = limit

        @classmethod
        def from_options(cls, options: Mapping[str, Any], context: BuildContext) -> BaseMetric:
            return cls(int(options.get("limit", 10)))

        def score(self, output: str, case: Case) -> Score:
            return Score(1.0 if len(output) < self.limit else 0.0, "too long")

    assert "test_length_under" in available_metrics()
    metric = build_metric({"name": "test_length_under", "limit": 3})
    assert metric.name == "test_length_under"
    assert metric.score("ab", CASE).value == 1.0 and metric.score("abcd", CASE).value == 0.0


def test_custom_function_from_a_file_beside_the_suite(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "mine.py").write_text(
        "def shortness(output, case, limit=5):\n"
        "    return (2.0 if len(output) <= limit else -1.0), 'length'\n"
        "def flag(output, case):\n"
        "    return output == case.expected\n"
        "def boom(output, case):\n"
        "    raise ValueError('oops')\n"
        "def weird(output, case):\n"
        "    return 'yes'\n"
    )
    suite = tmp_path / "suite.toml"
    specs: list[dict[str, Any]] = [
        {"name": "checks/mine.py:shortness", "limit": 3},
        {"name": "checks/mine.py:flag"},
        {"name": "checks/mine.py:boom"},
        {"name": "checks/mine.py:weird"},
    ]
    metrics = build_metric_set(specs, source_file=suite)
    _, scores = metrics.score("hello", CASE)
    assert scores["shortness"] == Score(0.0, "length")  # clamped from -1
    assert scores["flag"].value == 1.0
    assert scores["boom"].value == 0.0 and "ValueError: oops" in scores["boom"].reason
    assert scores["weird"].value == 0.0 and "str" in scores["weird"].reason
    _, short = metrics.score("hi", CASE)
    assert short["shortness"].value == 1.0


def test_custom_module_function_beside_the_suite(tmp_path: Path) -> None:
    (tmp_path / "suite_checks_mod.py").write_text("def half(output, case):\n    return 0.5\n")
    metric = build_metric({"name": "suite_checks_mod:half"}, source_file=tmp_path / "s.toml")
    assert metric.score("x", CASE).value == 0.5


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.py:fn", "no file"),
        ("broken.py:fn", "SyntaxError"),
        ("ok.py:nothere", "no function 'nothere'"),
        ("no_such_module_xyz:fn", "ModuleNotFoundError"),
        (":fn", "must look like"),
    ],
)
def test_custom_import_errors_name_file_and_field(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "broken.py").write_text("def fn(:\n")
    (tmp_path / "ok.py").write_text("def fn(output, case):\n    return 1\n")
    suite = tmp_path / "suite.yaml"
    with pytest.raises(ConfigError, match=message) as info:
        build_metric_set([{"name": "exact"}, {"name": name}], source_file=suite)
    assert info.value.field == "metrics[1].name"
    assert str(suite) in str(info.value)
