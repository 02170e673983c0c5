import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from autotune.bench.case import Case
from autotune.errors import BudgetExceeded
from autotune.evaluate import EvalResult, Evaluator
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.metrics.base import BaseMetric, MetricSet, Score, WeightedMetric
from autotune.prompt import Demo, Prompt
from autotune.tracking import (
    MlflowTracker,
    NullTracker,
    default_tracking_uri,
    log_eval,
    resolve_tracking_uri,
)
from autotune.tracking._records import eval_table, prompt_markdown, safe_key

PROMPT = Prompt(
    system="Label the sentiment.",
    user_template="Text: {text}",
    demos=(Demo.of({"text": "great"}, "positive"),),
    name="seed",
)


class ExactMetric(BaseMetric):
    name = "exact:strict"  # a ':' that MLflow metric keys do not accept everywhere

    def score(self, output: str, case: Case) -> Score:
        return Score(1.0) if output == case.expected else Score(0.0, "mismatch")


def answer(messages: Sequence[Message], params: SamplingParams) -> str:
    return "positive" if "good" in messages[-1].content else "negative"


@pytest.fixture(scope="module")
def result() -> EvalResult:
    cases = [
        Case("a", {"text": "good day"}, "positive", "s.jsonl:1"),
        Case("b", {"text": "bad day"}, "positive", "s.jsonl:2"),
        Case("c", {"text": "boom"}, "negative", "s.jsonl:3"),
    ]
    llm = ScriptedLLM(answer, fail_on=lambda m: "boom" in m[-1].content)
    metrics = MetricSet([WeightedMetric(ExactMetric())])
    return Evaluator(llm, metrics).evaluate(PROMPT, cases)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return "sqlite:///" + (tmp_path_factory.mktemp("store") / "db" / "mlflow.db").as_posix()


def test_log_eval_writes_params_metrics_prompt_and_case_table(
    result: EvalResult, store: str
) -> None:
    run_id = log_eval(
        result,
        PROMPT,
        params={"model": "fake:scripted", "split": "test"},
        run_name="eval-seed",
        tags={"bench": "sentiment"},
        tracking_uri=store,
        experiment="exp-eval",
    )
    client = MlflowClient(tracking_uri=store)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "eval-seed"
    assert run.data.tags["bench"] == "sentiment"
    params = run.data.params
    assert params["model"] == "fake:scripted" and params["split"] == "test"
    assert params["prompt_fingerprint"] == PROMPT.fingerprint()
    assert (params["answer_strategy"], params["demos"], params["cases"]) == ("direct", "1", "3")
    metrics = run.data.metrics
    # The failed case is an error, not a 0: the mean is over the two scored cases.
    assert metrics["mean"] == pytest.approx(1 / 2)
    assert (metrics["ci_low"], metrics["ci_high"]) == (result.ci_low, result.ci_high)
    assert metrics["metric/exact_strict"] == pytest.approx(1 / 2)
    assert (metrics["errors"], metrics["calls"], metrics["cases"]) == (1.0, 2.0, 3.0)
    assert metrics["scored"] == 2.0
    assert metrics["tokens"] == result.tokens > 0 and metrics["wall_s"] == result.wall_s

    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"prompt.md", "prompt.json", "cases.json"} <= artifacts
    local = Path(client.download_artifacts(run_id, "", dst_path=str(Path(store[10:]).parent)))
    assert Prompt.from_dict(json.loads((local / "prompt.json").read_text())) == PROMPT
    assert "Label the sentiment." in (local / "prompt.md").read_text()
    # MlflowClient.load_table searches through MLflow's global URI, so read the file.
    table = json.loads((local / "cases.json").read_text())
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    assert json.loads(run.data.tags["mlflow.loggedArtifacts"]) == [
        {"path": "cases.json", "type": "table"}
    ]
    assert [r["case_id"] for r in rows] == ["a", "b", "c"]
    assert [r["score"] for r in rows] == [1.0, 0.0, 0.0]
    assert rows[1]["reason"] == "exact:strict: mismatch"
    assert rows[2]["error"] == "RuntimeError: scripted failure"
    assert json.loads(rows[0]["inputs"]) == {"text": "good day"}
    assert rows[0]["rendered"].startswith("[system]\nLabel the sentiment.")


def test_experiment_artifacts_live_beside_the_sqlite_database(store: str) -> None:
    tracker = MlflowTracker(store, experiment="exp-location")
    experiment = tracker.client.get_experiment(tracker.experiment_id)
    expected = (Path(store[len("sqlite:///") :]).parent / "artifacts").as_uri()
    assert experiment.artifact_location == expected
    assert MlflowTracker(store, experiment="exp-location").experiment_id == tracker.experiment_id


def test_child_runs_point_at_their_parent_and_log_steps(store: str) -> None:
    tracker = MlflowTracker(store, experiment="exp-nested")
    with tracker.start_run("study", tags={"kind": "study"}) as parent:
        parent.log_params({"long": "x" * 7000})
        with tracker.start_run("trial-0", parent=parent.run_id) as child:
            child.log_metrics({"score": 0.25}, step=0)
            child.log_metrics({"score": 0.75}, step=1)
            child.log_text("hello", "notes/hello.txt")
            child.set_tags({"trial": "0"})
    client = tracker.client
    child_run = client.get_run(child.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.run_id
    assert child_run.data.tags["trial"] == "0"
    history = client.get_metric_history(child.run_id, "score")
    assert [(m.step, m.value) for m in history] == [(0, 0.25), (1, 0.75)]
    assert len(client.get_run(parent.run_id).data.params["long"]) == 6000
    assert [a.path for a in client.list_artifacts(child.run_id, "notes")] == ["notes/hello.txt"]


@pytest.mark.parametrize(
    ("error", "status"), [(ValueError("bug"), "FAILED"), (BudgetExceeded("calls", 1, 1), "KILLED")]
)
def test_a_run_whose_block_raises_is_closed_with_a_status(
    store: str, error: Exception, status: str
) -> None:
    tracker = MlflowTracker(store, experiment="exp-status")
    with pytest.raises(type(error)), tracker.start_run("broken") as run:
        raise error
    assert tracker.client.get_run(run.run_id).info.status == status


def test_null_tracker_stores_nothing(
    result: EvalResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tracker = NullTracker()
    assert tracker.log_eval(result, PROMPT, params={"model": "x"}) == ""
    with tracker.start_run("study") as run:
        run.log_metrics({"mean": 1.0})
        run.log_table({"a": [1]}, "t.json")
    assert list(tmp_path.iterdir()) == []


def test_default_uri_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_tracking_uri() == f"sqlite:///{tmp_path.as_posix()}/mlruns/mlflow.db"
    assert resolve_tracking_uri() == default_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert resolve_tracking_uri() == "sqlite:///elsewhere.db"
    assert resolve_tracking_uri("http://host:5000") == "http://host:5000"


def test_case_table_has_one_value_per_row_in_every_column(result: EvalResult) -> None:
    table = eval_table(result)
    assert {len(column) for column in table.values()} == {3}
    assert table["metric/exact_strict"] == [1.0, 0.0, 0.0]
    assert table["expected"] == ["positive", "positive", "negative"]
    assert safe_key("metric/a:b c(d)") == "metric/a_b c_d_"


def test_importing_tracking_does_not_import_mlflow() -> None:
    code = "import sys, autotune.tracking; print('mlflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_prompt_document_shows_a_calibration() -> None:
    plain = Prompt(system="Classify.", user_template="{text}")
    calibrated = plain.with_(calibration=(("positive", math.log(0.7)), ("negative", math.log(0.3))))
    assert "calibrated" not in prompt_markdown(plain)
    assert "calibrated (mean label probabilities): positive 0.70, negative 0.30" in (
        prompt_markdown(calibrated)
    )
