import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from cli_doubles import artifact_text, forbid_model_loading, single_run, store_uri, use_script

from autotune.bench import load_benchmark
from autotune.cli.main import main
from autotune.llm.types import Message, SamplingParams

TASK = "customer support emails about billing disputes"
BATCH = (
    "Sure! Here are the cases:\n"
    "1. refund | I was charged twice for my subscription this month.\n"
    "2. refund | I was charged twice for my subscription this month!\n"
    "3. question | Why does my invoice show a setup fee?\n"
    "4. refund | Please return the late fee, I paid on time."
)


def reply(messages: Sequence[Message], params: SamplingParams) -> str:
    text = messages[-1].content
    if text.startswith("You review"):
        return "DISCARD: too vague" if "late fee" in text else "KEEP"
    return BATCH


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
    use_script(monkeypatch, reply)
    uri = store_uri(workdir)
    out = workdir / "data" / "cases.jsonl"
    code = main(synth_args(out, "--labels", "refund,question", "--tracking-uri", uri))
    assert code == 0
    stdout = capsys.readouterr().out
    assert "generated 3 candidates in 3 model calls (1 generation, 2 review" in stdout
    assert "kept 2 of 2, discarded 1\n  near-duplicate: 1\nstopped: target reached" in stdout
    bench = load_benchmark(workdir / "data" / "suite.toml")
    assert [(c.inputs["input"], c.expected) for c in bench.cases] == [
        ("I was charged twice for my subscription this month.", "refund"),
        ("Why does my invoice show a setup fee?", "question"),
    ]
    client, run = single_run(uri)
    assert run.data.tags["autotune.command"] == "synth"
    assert (run.data.params["n"], run.data.params["labels"]) == ("2", "refund,question")
    assert run.data.params["max_calls"] == str(3 * (2 + 1))
    metrics = run.data.metrics
    assert (metrics["kept"], metrics["generated"], metrics["discarded/near-duplicate"]) == (2, 3, 1)
    assert artifact_text(client, run, "cases.jsonl", workdir) == out.read_text()
    assert "labels = " in artifact_text(client, run, "suite.toml", workdir)


def test_judge_discards_and_demo_repeats_are_counted(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_script(monkeypatch, reply)
    prompt = workdir / "prompt.json"
    demo = {"inputs": {"text": "Why does my invoice show a setup fee?"}, "output": "question"}
    prompt.write_text(json.dumps({"system": "Label it.", "demos": [demo]}))
    out = workdir / "cases.jsonl"
    args = synth_args(out, "--labels", "refund,question", "--exclude-demos", str(prompt))
    assert main([*args, "--max-calls", "4", "--no-track"]) == 0
    captured = capsys.readouterr()
    assert "kept 1 of 2" in captured.out and "budget: all 4 model calls used" in captured.out
    # The second batch repeats the first: its late-fee case is left unreviewed.
    assert (
        "discarded 7\n  near-duplicate: 3\n  repeats a few-shot example: 2\n"
        "  judged unrealistic or off-task: 1\n  budget ran out before review: 1\n"
    ) in captured.out
    assert "warning: kept 1 of 2 cases" in captured.err
    assert len(out.read_text().splitlines()) == 1


def test_nothing_kept_writes_nothing_and_exits_1(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_script(monkeypatch, lambda m, p: "Sure! Here are the cases:\n```\n```")
    out = workdir / "cases.jsonl"
    assert main([*synth_args(out, "--no-track"), "--no-review", "--max-calls", "2"]) == 1
    assert not out.exists() and not (workdir / "suite.toml").exists()
    assert "kept 0 of 2" in capsys.readouterr().out


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
    use_script(monkeypatch, reply)
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
def test_synth_with_the_embedded_model_end_to_end(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = store_uri(workdir)
    out = workdir / "cases.jsonl"
    args = ["synth", "--task", TASK, "-n", "2", "--out", str(out), "--model", "smollm2"]
    args += ["--max-calls", "4", "--max-tokens", "64", "--no-cache", "--tracking-uri", uri]
    code = main(args)
    stdout = capsys.readouterr().out
    _, run = single_run(uri)
    metrics = run.data.metrics
    assert metrics["calls"] <= 4 and metrics["generation_calls"] >= 1
    discarded = sum(v for k, v in metrics.items() if k.startswith("discarded/"))
    assert metrics["kept"] + discarded == metrics["generated"]
    assert f"kept {int(metrics['kept'])} of 2" in stdout
    if code == 0:
        assert len(load_benchmark(workdir / "suite.toml").cases) == metrics["kept"] >= 1
    else:
        assert code == 1 and metrics["kept"] == 0 and not out.exists()
