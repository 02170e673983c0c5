"""Tests for data files: JSONL/CSV/TSV reading and one-line data errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotune.bench import Benchmark, load_benchmark, load_cases
from autotune.errors import DataError

SUITE = 'data = "{data}"\ninput_template = "Q: {{question}}"\nexpected = "answer"\n'


def load(tmp_path: Path, name: str, content: str, suite_extra: str = "") -> Benchmark:
    (tmp_path / name).write_text(content)
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(data=name) + suite_extra)
    return load_benchmark(suite)


def data_error(tmp_path: Path, name: str, content: str, suite_extra: str = "") -> DataError:
    with pytest.raises(DataError) as info:
        load(tmp_path, name, content, suite_extra)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(str(tmp_path / name))
    return info.value


def test_csv_and_tsv_cases(tmp_path: Path) -> None:
    csv_text = 'question,answer,note\n"What, exactly?",42,x\n\n"multi\nline",7,y\n'
    bench = load(tmp_path, "d.csv", csv_text)
    assert [c.inputs["question"] for c in bench.cases] == ["What, exactly?", "multi\nline"]
    assert bench.cases[1].source.endswith("d.csv:4") and bench.cases[1].id == "d-4"
    assert bench.cases[0].inputs["note"] == "x" and bench.cases[0].expected == "42"
    tsv = load(tmp_path, "d.tsv", "question\tanswer\nTwo plus two?\t4\n")
    assert tsv.cases[0].inputs == {"question": "Two plus two?"}


@pytest.mark.parametrize(
    ("name", "content", "line", "field", "message"),
    [
        ("d.jsonl", '{"question": "a", "answer": "1"}\n{"question": "b", answer}\n', 2, None,
         "not valid JSON"),
        ("d.jsonl", '{"question": "a", "answer": "1"}\n[1, 2]\n', 2, None, "JSON object"),
        ("d.jsonl", '{"question": "a", "answer": "1"}\n\n{"question": "b"}\n', 3, "answer",
         "missing field"),
        ("d.jsonl", '{"question": "a", "answer": "1"}\n{"answer": "2", "question": null}\n', 2,
         "question", "missing field"),
        ("d.jsonl", "\n\n", None, None, "empty"),
        ("d.csv", "question,solution\nwhat?,1\n", 1, "answer", "no column 'answer'"),
        ("d.csv", "question,answer\nwhat?,1,extra\n", 2, None, "has 3 values"),
        ("d.csv", "question,question\na,b\n", 1, "question,question", "unique"),
        ("d.csv", "question,answer\n", None, None, "empty"),
        ("d.txt", "question answer\n", None, None, "unsupported data format"),
    ],
)  # fmt: skip
def test_data_errors_name_file_line_and_field(
    tmp_path: Path, name: str, content: str, line: int | None, field: str | None, message: str
) -> None:
    error = data_error(tmp_path, name, content)
    assert (error.line, error.field) == (line, field)
    assert message in error.message
    if line is not None:
        assert f"{tmp_path / name}:{line}:" in str(error)


def test_label_not_allowed_and_duplicate_ids(tmp_path: Path) -> None:
    rows = '{"question": "a", "answer": "yes"}\n{"question": "b", "answer": "maybe"}\n'
    error = data_error(tmp_path, "d.jsonl", rows, 'labels = ["yes", "no"]\n')
    assert (error.line, error.field) == (2, "answer") and "maybe" in error.message
    dup = '{"id": 1, "question": "a", "answer": "1"}\n{"id": 1, "question": "b", "answer": "2"}\n'
    error = data_error(tmp_path, "d.jsonl", dup)
    assert (error.line, error.field) == (2, "id") and "duplicate" in error.message


def test_unknown_placeholder_is_a_load_time_config_error(tmp_path: Path) -> None:
    from autotune.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\{question\} matches no column") as info:
        load(tmp_path, "d.jsonl", '{"q": "a", "answer": "1"}\n')
    assert info.value.field == "input_template" and info.value.line == 2


def test_load_cases_reads_a_bare_data_file(tmp_path: Path) -> None:
    path = tmp_path / "bare.jsonl"
    path.write_text('{"id": "x", "input": "hi", "expected": "hello"}\n{"id": "y", "input": "yo"}\n')
    with pytest.raises(DataError) as info:
        load_cases(path)
    assert (info.value.line, info.value.field) == (2, "expected")
    cases = load_cases(path, expected=None)
    assert [c.id for c in cases] == ["x", "y"] and cases[0].expected is None
    assert cases[0].inputs == {"input": "hi", "expected": "hello"}
    csv_path = tmp_path / "bare.csv"
    csv_path.write_text("input,output\nhi,hello\n")
    with pytest.raises(DataError, match="no column 'expected'"):
        load_cases(csv_path)
    assert load_cases(csv_path, expected="output")[0].expected == "hello"
