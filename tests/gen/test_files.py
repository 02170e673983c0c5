import json
from pathlib import Path

import pytest

from autotune.bench import load_benchmark
from autotune.errors import DataError, UserInputError
from autotune.gen import (
    SynthCase,
    SynthReport,
    check_data_path,
    check_writable,
    demo_texts,
    write_benchmark,
)
from autotune.llm import BaseLLM, ScriptedLLM
from autotune.prompt import Demo, Prompt

TASK = 'billing "dispute" emails'


def report(labels: tuple[str, ...], cases: list[SynthCase]) -> SynthReport:
    return SynthReport(TASK, labels, len(cases), 10, cases=cases)


def test_labelled_cases_load_back_as_a_benchmark_with_splits(tmp_path: Path) -> None:
    cases = [SynthCase(f"email number {i}", "refund" if i % 2 else "question") for i in range(10)]
    suite = write_benchmark(report(("refund", "question"), cases), tmp_path / "data" / "c.jsonl")
    assert suite == tmp_path / "data" / "suite.toml"
    bench = load_benchmark(suite)
    assert (bench.name, bench.description, bench.labels) == ("c", TASK, ("refund", "question"))
    assert [(c.inputs["input"], c.expected) for c in bench.cases] == [
        (case.input, case.expected) for case in cases
    ]
    assert bench.metrics.names == ["label"]
    sizes = [len(bench.split(name)) for name in ("train", "validation", "test")]
    assert sizes == [6, 2, 2]
    first = json.loads((tmp_path / "data" / "c.jsonl").read_text().splitlines()[0])
    assert first == {"id": "synth-0001", "input": "email number 0", "expected": "question"}


def test_cases_without_labels_get_a_judge_metric_that_is_built_lazily(tmp_path: Path) -> None:
    built: list[str] = []

    def factory(spec: str) -> BaseLLM:
        built.append(spec)
        return ScriptedLLM(["Grade: 5"])

    cases = [SynthCase("where is my refund?")]
    suite = write_benchmark(report((), cases), tmp_path / "c.jsonl", judge_model="fake")
    bench = load_benchmark(suite, llm_factory=factory)
    assert bench.cases[0].expected is None and bench.metrics.names == ["judge"]
    assert built == []  # loading a suite never loads a model


def test_no_kept_case_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no case was kept"):
        write_benchmark(report((), []), tmp_path / "c.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_output_paths_are_checked_without_creating_anything(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "new" / "deeper" / "p.md", field="--out").name == "p.md"
    assert not (tmp_path / "new").exists()
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(UserInputError, match="is not a folder") as caught:
        check_writable(blocker / "p.md", field="--out")
    assert caught.value.field == "--out"
    with pytest.raises(UserInputError, match="is a folder"):
        check_writable(tmp_path, field="--out")
    with pytest.raises(UserInputError, match=r"must end in \.jsonl"):
        check_data_path(tmp_path / "cases.csv")


def test_demo_texts_come_from_demos_and_example_lines() -> None:
    prompt = Prompt(
        system="## Examples\nInput: I was charged twice\nOutput: refund\n- input: Where is it?",
        user_template="Email: {text}",
        demos=(Demo.of({"text": "Refund my fee"}, "refund"),),
    )
    assert demo_texts(prompt) == ["Refund my fee", "I was charged twice", "Where is it?"]
