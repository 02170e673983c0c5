"""Tests for load_benchmark: good suites in TOML/YAML/JSON and one-line config errors."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from autotune.bench import load_benchmark
from autotune.errors import ConfigError, DataError

ROWS = [
    {"id": f"r{i}", "text": f"review {i}", "label": "positive" if i % 2 else "negative"}
    for i in range(20)
]


def write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / "cases.jsonl", ROWS)
    return tmp_path


TOML_SUITE = """\
name = "mini"
description = "Classify reviews."
data = "cases.jsonl"
input_template = "Review: {text}"
expected = "label"
labels = ["positive", "negative"]
split = { train = 0.5, validation = 0.25, test = 0.25, seed = 3 }

[[metrics]]
name = "label"
weight = 2

[[metrics]]
name = "regex"
pattern = "^\\\\w+$"
"""


def test_toml_suite_loads_cases_metrics_and_stratified_splits(data_dir: Path) -> None:
    suite = data_dir / "suite.toml"
    suite.write_text(TOML_SUITE)
    bench = load_benchmark(suite)
    assert bench.name == "mini" and bench.description == "Classify reviews."
    assert len(bench.cases) == 20 and bench.labels == ("positive", "negative")
    first = bench.cases[0]
    assert first.id == "r0" and first.inputs == {"text": "review 0"}
    assert first.expected == "negative" and first.source.endswith("cases.jsonl:1")
    assert bench.metrics.names == ["label", "regex"]
    sizes = {name: len(bench.split(name)) for name in ("train", "validation", "test")}
    assert sizes == {"train": 10, "validation": 6, "test": 4}
    for name in ("train", "test"):
        labels = [case.expected for case in bench.split(name)]
        assert labels.count("positive") == labels.count("negative")
    again = load_benchmark(suite)
    assert [c.id for c in again.split("test")] == [c.id for c in bench.split("test")]


def test_yaml_and_json_suites_with_defaults(data_dir: Path) -> None:
    yaml_suite = data_dir / "mini.yaml"
    yaml_suite.write_text("data: cases.jsonl\ninput_template: '{text}'\nexpected: label\n")
    bench = load_benchmark(yaml_suite)
    assert bench.name == "mini" and bench.metrics.names == ["exact"]
    assert bench.split("test") == bench.cases  # no split: every split is all cases
    json_suite = data_dir / "j.json"
    spec = {"data": "cases.jsonl", "input_template": "{text}", "expected": "label",
            "labels": ["Positive", "Negative"]}  # fmt: skip
    json_suite.write_text(json.dumps(spec))
    bench = load_benchmark(json_suite)
    assert bench.cases[1].expected == "Positive" and bench.metrics.names == ["label"]
    json_suite.write_text(json.dumps({**spec, "split": {"column": "text"}}))
    with pytest.raises(DataError, match="not train, validation or test") as info:
        load_benchmark(json_suite)
    assert (info.value.line, info.value.field) == (1, "text")


def test_column_split(tmp_path: Path) -> None:
    rows = [{"q": "a", "a": "1", "part": "train"}, {"q": "b", "a": "2", "part": "Test"},
            {"q": "c", "a": "3", "part": "dev"}]  # fmt: skip
    write_jsonl(tmp_path / "d.jsonl", rows)
    (tmp_path / "s.toml").write_text(
        'data = "d.jsonl"\ninput_template = "{q}"\nexpected = "a"\nsplit = { column = "part" }\n'
    )
    bench = load_benchmark(tmp_path / "s.toml")
    assert [c.inputs["q"] for c in bench.split("validation")] == ["c"]
    assert [c.inputs["q"] for c in bench.split("test")] == ["b"]
    assert "part" not in bench.cases[0].inputs and bench.cases[0].id == "d-1"
    assert bench.cases[1].meta == {"split": "Test"}


def expect_config_error(suite: Path, text: str) -> ConfigError:
    suite.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_benchmark(suite)
    return info.value


@pytest.mark.parametrize(
    ("replace", "by", "line", "field", "message"),
    [
        ("weight = 2", "weight = -2", 11, "metrics[0].weight", "greater than or equal"),
        ('name = "regex"', 'name = "regexx"', 14, "metrics[1].name", "unknown metric"),
        ('pattern = "^\\\\w+$"', 'pattern = "("', 15, "metrics[1].pattern", "regular exp"),
        ("Review: {text}", "Review: {txet}", 4, "input_template", "{txet}"),
        ("Review: {text}", "Review: {label}", 4, "input_template", "leak"),
        ("seed = 3", "seed = 3, extra = 1", 7, "split.extra", "unknown key"),
        ("test = 0.25", "test = 0.5", 7, "split", "add up to 1"),
        ('expected = "label"', "expected = 5", 5, "expected", "valid string"),
        ('data = "cases.jsonl"', 'data = "nope.jsonl"', 3, "data", "not found"),
        ('labels = ["positive", "negative"]', 'labels = ["positive"]', 6, "labels", "two"),
    ],
)
def test_config_errors_are_one_line_with_file_line_and_field(
    data_dir: Path, replace: str, by: str, line: int, field: str, message: str
) -> None:
    suite = data_dir / "suite.toml"
    assert replace in TOML_SUITE
    error = expect_config_error(suite, TOML_SUITE.replace(replace, by))
    text = str(error)
    assert "\n" not in text
    assert f"{suite}:{line}:" in text and f"field '{field}'" in text and message in text


def test_yaml_errors_have_lines(data_dir: Path) -> None:
    suite = data_dir / "s.yaml"
    text = (
        "data: cases.jsonl\ninput_template: '{text}'\nexpected: label\nmetrics:\n"
        "  - name: exact\n  - name: numeric\n    tolerence: 0.1\n"
    )
    error = expect_config_error(suite, text)
    assert (error.line, error.field) == (7, "metrics[1].tolerence")
    broken = expect_config_error(suite, "data: [unclosed\ninput_template: x\n")
    assert broken.file == str(suite) and broken.line is not None and "invalid YAML" in str(broken)


def test_toml_syntax_error_and_missing_and_unknown_keys(data_dir: Path) -> None:
    suite = data_dir / "s.toml"
    error = expect_config_error(suite, 'data = "cases.jsonl"\ninput_template = \n')
    assert error.line == 2 and "invalid TOML" in error.message
    missing = expect_config_error(suite, 'input_template = "{text}"\n')
    assert missing.field == "data" and "required" in missing.message.lower()
    typo = expect_config_error(suite, 'data = "cases.jsonl"\n\ninput_tempalte = "{text}"\n')
    assert (typo.line, typo.field) == (3, "input_tempalte")
    absent = expect_config_error(data_dir / "none.toml", "")
    assert "data" in str(absent)
    with pytest.raises(ConfigError, match="suite file not found"):
        load_benchmark(data_dir / "missing.toml")
