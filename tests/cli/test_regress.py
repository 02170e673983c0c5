"""``autotune regress``: exit codes, JUnit XML, Markdown summary and alias promotion."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_suites import negative_ids, sqlite_uri, write_suite

from autotune.cli.main import main
from autotune.errors import ConfigError
from autotune.prompt import Prompt
from autotune.tracking.registry import load_registered_prompt, register_prompt


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # caches and default stores stay in tmp_path
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    write_suite(tmp_path)
    return tmp_path


def regress(candidate: str, baseline: str, *extra: str) -> int:
    return main(
        [
            "regress",
            "--bench",
            "suite.toml",
            "--candidate",
            candidate,
            "--baseline",
            baseline,
            "--model",
            "fake",
            *extra,
        ]
    )


def junit(path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite, {case.get("name") or "": case for case in suite.iter("testcase")}


def test_an_equivalent_candidate_passes_with_exit_0(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = regress("same.txt", "base.txt", "--junit", "out/gate.xml", "--summary", "out/gate.md")
    assert code == 0
    suite, cases = junit(workdir / "out" / "gate.xml")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "0")
    assert list(cases) == ["score", "metric:label"]
    assert all(case.find("failure") is None for case in cases.values())
    summary = (workdir / "out" / "gate.md").read_text()
    assert summary.startswith("## Regression gate: ✅ no regression")
    assert "| score | 1.000 | 1.000 | +0.000 |" in summary
    assert "PASS: no regression" in capsys.readouterr().out


def test_a_planted_regression_exits_1_with_failures_and_flips(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert regress("worse.toml", "base.txt", "--junit", "gate.xml", "--summary", "gate.md") == 1
    suite, cases = junit(workdir / "gate.xml")
    assert suite.get("failures") == "2"
    failure = cases["score"].find("failure")
    assert failure is not None and "difference -0.350" in (failure.get("message") or "")
    out = cases["metric:label"].findtext("system-out") or ""
    assert f"broken (passed before, fails now): {len(negative_ids())}" in out
    assert all(f"{case_id}: 1.00 -> 0.00" in out for case_id in negative_ids())
    assert "### Broken cases (7)" in (workdir / "gate.md").read_text()
    assert "FAIL: regression in score, label" in capsys.readouterr().out


def test_a_drop_within_the_tolerance_exits_0(workdir: Path) -> None:
    assert regress("worse.toml", "base.txt", "--tolerance", "0.5", "--junit", "gate.xml") == 0
    suite, _ = junit(workdir / "gate.xml")
    assert suite.get("failures") == "0"


def test_repeats_sample_every_case_several_times(workdir: Path) -> None:
    assert regress("same.txt", "base.txt", "--repeats", "3", "--junit", "gate.xml") == 0
    suite, _ = junit(workdir / "gate.xml")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["repeats"] == "3" and properties["cases"] == "20"
    assert properties["model"] == "fake:echo" and properties["bench"] == "tiny"


@pytest.mark.parametrize(
    ("candidate", "baseline", "extra", "message"),
    [
        ("nope.txt", "base.txt", [], "nope.txt: prompt file not found"),
        ("same.txt", "base.txt", ["--tolerance", "-1"], "field '--tolerance': must be >= 0"),
        ("same.txt", "base.txt", ["--repeats", "0"], "field '--repeats': must be >= 1"),
        ("same.txt", "base.txt", ["--confidence", "1"], "field '--confidence'"),
        ("same.txt", "base.txt", ["--promote", "production"], "needs a registered baseline"),
        ("same.txt", "prompts:/nothing@production", [], "not in the prompt registry"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    candidate: str,
    baseline: str,
    extra: list[str],
    message: str,
) -> None:
    store = ["--tracking-uri", sqlite_uri(workdir / "store" / "mlflow.db")]
    assert regress(candidate, baseline, *extra, *store) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.fixture
def registry(workdir: Path) -> str:
    """A local MLflow store with prompt ``sentiment`` v1 (= base.txt) @production."""
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    (workdir / "store").mkdir()
    base = Prompt(system="Label the review.", user_template="Review: {text}", name="base")
    assert register_prompt(base, "sentiment", alias="production", tracking_uri=uri) == 1
    return uri


def production(uri: str) -> tuple[Prompt, int]:
    return load_registered_prompt("prompts:/sentiment@production", tracking_uri=uri)


def test_a_passing_candidate_file_becomes_the_new_production_version(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--promote", "production", "--tracking-uri", registry]
    assert regress("same.txt", "prompts:/sentiment@production", *args) == 0
    prompt, version = production(registry)
    assert version == 2 and prompt.system == "Name the sentiment of the review."
    assert "promoted: prompts:/sentiment@production -> version 2" in capsys.readouterr().out


def test_a_failing_candidate_leaves_the_alias_and_registers_nothing(registry: str) -> None:
    args = ["--promote", "production", "--tracking-uri", registry]
    assert regress("worse.toml", "prompts:/sentiment@production", *args) == 1
    prompt, version = production(registry)
    assert version == 1 and prompt.system == "Label the review."
    with pytest.raises(ConfigError, match="not in the prompt registry"):
        load_registered_prompt("prompts:/sentiment/2", tracking_uri=registry)


def test_a_registered_candidate_keeps_its_version_when_promoted(registry: str) -> None:
    candidate = Prompt(system="Say which sentiment.", user_template="Review: {text}")
    assert register_prompt(candidate, "sentiment", tracking_uri=registry) == 2
    args = ["--promote", "production", "--tracking-uri", registry]
    assert regress("prompts:/sentiment/2", "prompts:/sentiment@production", *args) == 0
    assert production(registry)[1] == 2
    with pytest.raises(ConfigError, match="not in the prompt registry"):
        load_registered_prompt("prompts:/sentiment/3", tracking_uri=registry)


@pytest.mark.embedded
def test_regress_with_the_embedded_model_end_to_end(workdir: Path) -> None:
    (workdir / "copy.txt").write_text((workdir / "base.txt").read_text())
    args = ["--limit", "4", "--max-tokens", "4", "--no-cache", "--concurrency", "2"]
    code = main(
        [
            "regress",
            "--bench",
            "suite.toml",
            "--candidate",
            "copy.txt",
            "--baseline",
            "base.txt",
            "--model",
            "smollm2",
            "--junit",
            "gate.xml",
            *args,
        ]
    )
    assert code == 0  # the same prompt at temperature 0: the same answers
    suite, cases = junit(workdir / "gate.xml")
    assert suite.get("failures") == "0" and list(cases) == ["score", "metric:label"]
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (properties["model"] or "").startswith("llama_cpp:") and properties["cases"] == "4"
