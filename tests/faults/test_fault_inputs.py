"""Inputs that used to pass silently are refused with one line naming file, line, field."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fault_suite import SUITE, error_lines

from autotune.bench import load_benchmark, load_prompt
from autotune.cli.main import main
from autotune.errors import ConfigError, DataError

EXPERIMENT = (
    'name = "x"\nbenchmark = "suite.toml"\nseed_prompt = "{seed}"\n'
    '[models]\ntask = "fake"\n[tracking]\nenabled = false\n'
)


@pytest.mark.parametrize("text", ["", "   \n\n\t\n"])
def test_empty_or_blank_seed_prompt_is_refused(
    workdir: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "blank.txt").write_text(text)
    (workdir / "exp.toml").write_text(EXPERIMENT.format(seed="blank.txt"))
    assert main(["run", "exp.toml"]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "blank.txt" in line and "empty" in line


def test_seed_prompt_without_instruction_text_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "seed.toml").write_text('system = "  "\n')
    (workdir / "exp.toml").write_text(EXPERIMENT.format(seed="seed.toml"))
    assert main(["run", "exp.toml"]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "seed.toml" in line and "field 'system'" in line


def test_json_object_as_text_field_is_refused_with_file_line_field(workdir: Path) -> None:
    lines = (workdir / "cases.jsonl").read_text().splitlines()
    lines[2] = '{"id": "c2", "word": {"nested": 1}, "answer": "x", "split": "test"}'
    (workdir / "cases.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        load_benchmark(workdir / "suite.toml")
    assert caught.value.line == 3 and caught.value.field == "word"
    assert "JSON object" in str(caught.value) and "cases.jsonl:3" in str(caught.value)


def test_lone_surrogate_in_jsonl_is_refused_at_load(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (workdir / "cases.jsonl").read_text().splitlines()
    lines[4] = '{"id": "c4", "word": "bad \\ud800 text", "answer": "x", "split": "test"}'
    (workdir / "cases.jsonl").write_text("\n".join(lines) + "\n")
    args = ["eval", "--prompt", "seed.txt", "--bench", "suite.toml", "--model", "fake"]
    assert main([*args, "--no-track"]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "cases.jsonl:5" in line and "field 'word'" in line and "surrogate" in line


def test_lone_surrogate_in_a_prompt_file_is_refused(workdir: Path) -> None:
    (workdir / "p.json").write_text('{"system": "hi \\udfff"}')
    with pytest.raises(ConfigError, match="surrogate") as caught:
        load_prompt(workdir / "p.json")
    assert caught.value.field == "system" and caught.value.line == 1


def test_suite_too_small_for_its_splits_warns_with_the_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "cases.jsonl").write_text(
        '{"word": "a", "answer": "a"}\n{"word": "b", "answer": "b"}\n'
    )
    (tmp_path / "suite.toml").write_text(
        SUITE.replace(
            'split = { column = "split" }', "split = { train = 0.6, validation = 0.2, test = 0.2 }"
        )
    )
    with caplog.at_level(logging.WARNING):
        bench = load_benchmark(tmp_path / "suite.toml")
    assert not bench.split("test")
    [record] = caplog.records
    assert "2 cases are too few" in record.message
    assert "test 0" in record.message and "no " in record.message


@pytest.mark.parametrize("trials", ["0", "-5"])
def test_non_positive_trial_counts_are_refused(
    workdir: Path, trials: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "exp.toml").write_text(EXPERIMENT.format(seed="seed.txt"))
    assert main(["run", "exp.toml", "--trials", trials]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "--trials" in line


@pytest.mark.parametrize(
    ("option", "value"), [("--timeout", "0"), ("--timeout", "-1"), ("--retries", "-1")]
)
def test_bad_timeout_or_retries_are_refused(
    workdir: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "hi", "--model", "fake", option, value]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert option in line


def test_new_study_and_force_reach_the_run_config(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from autotune.experiment import Experiment

    seen: list[Experiment] = []

    def fake_run(experiment: Experiment, **kwargs: object) -> object:
        seen.append(experiment)
        raise ConfigError("stop here")

    monkeypatch.setattr("autotune._run.run_experiment", fake_run)
    (workdir / "exp.toml").write_text(EXPERIMENT.format(seed="seed.txt"))
    assert main(["run", "exp.toml", "--force", "--timeout", "3", "--retries", "1"]) == 2
    assert main(["run", "exp.toml", "--new-study"]) == 2
    assert main(["run", "exp.toml", "--new-study", "--force"]) == 2
    forced, fresh = seen
    assert forced.force_resume and forced.name == "x"
    assert (forced.models.timeout_s, forced.models.max_retries) == (3.0, 1)
    assert fresh.name.startswith("x-") and not fresh.force_resume
    assert "either --new-study or --force" in capsys.readouterr().err
