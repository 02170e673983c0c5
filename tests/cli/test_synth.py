import itertools
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from cli_doubles import (
    Reply,
    artifact_text,
    forbid_model_loading,
    single_run,
    store_uri,
    use_script,
)

from autotune.bench import load_benchmark
from autotune.cli.main import main
from autotune.llm.types import Message, SamplingParams

TASK = "customer support emails about billing disputes"
CHARGED = "I was charged twice for my subscription this month."
SETUP_FEE = "Why does my invoice show a setup fee?"
LATE_FEE = "Please return the late fee, I paid on time."
OFF_TASK = "What time does the last train to the airport leave on Sundays?"


def scripted(cases: Sequence[str], judge: Callable[[str], str] | None = None) -> Reply:
    """Generation calls get ``cases`` in turn (cycled); review calls get ``judge(message)``
    (default: discard the off-task control and the late-fee case, keep the rest)."""
    turns = itertools.cycle(cases)

    def default_judge(message: str) -> str:
        return "DISCARD: off task" if message == OFF_TASK or "late fee" in message else "KEEP"

    def reply(messages: Sequence[Message], params: SamplingParams) -> str:
        text = messages[-1].content
        if text.startswith("You review"):
            message = text.split("Message: ", 1)[1].split("\n", 1)[0]
            return (judge or default_judge)(message)
        return next(turns)

    return reply


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # caches and default stores stay in tmp_path
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def synth_args(out: Path, *extra: str) -> list[str]:
    return ["synth", "--task", TASK, "-n", "2", "--out", str(out), "--model", "script", *extra]


def test_synth_writes_a_loadable_benchmark_and_logs_a_run(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_script(monkeypatch, scripted([CHARGED, CHARGED.replace(".", "!"), SETUP_FEE]))
    uri = store_uri(workdir)
    out = workdir / "data" / "cases.jsonl"
    code = main(synth_args(out, "--labels", "refund,question", "--tracking-uri", uri))
    assert code == 0
    stdout = capsys.readouterr().out
    assert "generated 3 candidates in 7 model calls (3 generation, 4 review" in stdout
    assert "kept 2 of 2, discarded 1\n  near-duplicate: 1\n" in stdout
    assert "review: judge fake:script passed calibration" in stdout
    assert "stopped: target reached" in stdout
    bench = load_benchmark(workdir / "data" / "suite.toml")
    # The labels take turns by generation call: refund, question, refund.
    assert [(c.inputs["input"], c.expected) for c in bench.cases] == [
        (CHARGED, "refund"),
        (SETUP_FEE, "refund"),
    ]
    client, run = single_run(uri)
    assert run.data.tags["autotune.command"] == "synth"
    assert (run.data.params["n"], run.data.params["labels"]) == ("2", "refund,question")
    assert (run.data.params["max_calls"], run.data.params["reviewed"]) == ("14", "True")
    metrics = run.data.metrics
    assert (metrics["kept"], metrics["generated"], metrics["discarded/near-duplicate"]) == (2, 3, 1)
    assert artifact_text(client, run, "cases.jsonl", workdir) == out.read_text()
    assert "labels = " in artifact_text(client, run, "suite.toml", workdir)


def test_judge_discards_and_demo_repeats_are_counted(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_script(monkeypatch, scripted([CHARGED, SETUP_FEE, LATE_FEE]))
    prompt = workdir / "prompt.json"
    demo = {"inputs": {"text": SETUP_FEE}, "output": "question"}
    prompt.write_text(json.dumps({"system": "Label it.", "demos": [demo]}))
    out = workdir / "cases.jsonl"
    args = synth_args(out, "--labels", "refund,question", "--exclude-demos", str(prompt))
    assert main([*args, "--max-calls", "10", "--no-track"]) == 0
    captured = capsys.readouterr()
    assert "kept 1 of 2" in captured.out and "budget: all 10 model calls used" in captured.out
    # The third late-fee case comes when no call is left to review it.
    assert (
        "discarded 5\n  repeats a few-shot example: 2\n  judged unrealistic or off-task: 1\n"
        "  near-duplicate: 1\n  budget ran out before review: 1\n"
    ) in captured.out
    assert "warning: kept 1 of 2 cases" in captured.err
    assert len(out.read_text().splitlines()) == 1


def test_a_judge_that_fails_calibration_is_reported_and_cases_are_kept_unreviewed(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = ["| 1| 2| 4| 6|", CHARGED, "Sure, here are the emails you asked for.", LATE_FEE]
    use_script(monkeypatch, scripted(cases, lambda message: "No, the text is not realistic."))
    out = workdir / "cases.jsonl"
    assert main([*synth_args(out), "--no-track"]) == 0
    captured = capsys.readouterr()
    warning = (
        "warning: judge fake:script failed calibration (on-task control: discard ('No, the "
        "text is not realistic.'); off-task control: discard ('No, the text is not "
        "realistic.')); cases were not reviewed by an LLM — pass --judge-model "
        "<a stronger model> to review\n"
    )
    assert warning in captured.err
    assert "review: skipped: judge fake:script failed calibration" in captured.out
    assert "markup or table debris: 1\n  assistant chatter: 1\n" in captured.out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["input"] for row in rows] == [CHARGED, LATE_FEE]
    assert len(load_benchmark(workdir / "suite.toml").cases) == 2


def test_nothing_kept_writes_nothing_and_exits_1(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_script(monkeypatch, lambda m, p: "Sure! Here are the cases:\n```\n```")
    out = workdir / "cases.jsonl"
    assert main([*synth_args(out, "--no-track"), "--no-review", "--max-calls", "2"]) == 1
    assert not out.exists() and not (workdir / "suite.toml").exists()
    stdout = capsys.readouterr().out
    assert "kept 0 of 2" in stdout and "review: off" in stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--task": "  "}, "field '--task': the task description is empty"),
        ({"-n": "0"}, "field '-n': must be >= 1"),
        ({"--out": "{tmp}/file.txt/cases.jsonl"}, "field '--out': cannot create the file"),
        ({"--out": "{tmp}/cases.csv"}, "field '--out': must end in .jsonl"),
        ({"--model": "nosuch:x"}, "field 'model': unknown backend 'nosuch'"),
        ({"--threshold": "1.5"}, "field '--threshold': must be in (0, 1]"),
        ({"--labels": "refund"}, "field '--labels': give two or more"),
        ({"--max-calls": "0"}, "field '--max-calls': must be >= 1"),
        ({"--exclude-demos": "{tmp}/nope.toml"}, "nope.toml: prompt file not found"),
    ],
)
def test_bad_input_exits_2_with_one_line_before_any_model_call(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    message: str,
) -> None:
    use_script(monkeypatch, scripted([CHARGED]))
    forbid_model_loading(monkeypatch)
    (workdir / "file.txt").write_text("x")
    args = synth_args(workdir / "cases.jsonl", "--no-track")
    for option, value in change.items():
        value = value.format(tmp=workdir)
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.embedded
def test_synth_with_the_embedded_model_keeps_n_text_cases_end_to_end(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = store_uri(workdir)
    out = workdir / "cases.jsonl"
    args = ["synth", "--task", TASK, "-n", "5", "--out", str(out), "--model", "smollm2"]
    args += ["--max-calls", "30", "--max-tokens", "96", "--no-cache", "--tracking-uri", uri]
    code = main(args)
    captured = capsys.readouterr()
    _, run = single_run(uri)
    metrics = run.data.metrics
    assert code == 0 and metrics["kept"] == 5 and metrics["calls"] <= 30
    discarded = sum(v for k, v in metrics.items() if k.startswith("discarded/"))
    assert metrics["kept"] + discarded == metrics["generated"]
    assert "kept 5 of 5" in captured.out
    # The 135M judge cannot judge: it must be caught by calibration, not discard everything.
    if run.data.params["reviewed"] == "False":
        assert "failed calibration" in captured.err and "--judge-model" in captured.err
    inputs = [case.inputs["input"] for case in load_benchmark(workdir / "suite.toml").cases]
    assert len(inputs) == 5 and len(set(inputs)) == 5
    for text in inputs:
        assert len(text.split()) >= 4 and "|" not in text
        letters = sum(char.isalpha() for char in text)
        assert letters >= 0.6 * len(re.sub(r"\s", "", text))
