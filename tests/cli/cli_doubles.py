"""Helpers for the generation commands' CLI tests: a scripted model string, a store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from autotune.llm import BACKENDS, BackendOptions, BaseLLM, ScriptedLLM
from autotune.llm.types import Message, SamplingParams

Reply = Callable[[Sequence[Message], SamplingParams], str]


def use_script(monkeypatch: pytest.MonkeyPatch, reply: Reply) -> list[ScriptedLLM]:
    """Make ``--model script`` build a ScriptedLLM answering with ``reply``; the built
    models are returned (to inspect their requests)."""
    built: list[ScriptedLLM] = []

    def factory(argument: str, options: BackendOptions) -> BaseLLM:
        llm = ScriptedLLM(reply, model_id="script")
        built.append(llm)
        return llm

    monkeypatch.setitem(BACKENDS, "script", factory)
    return built


def forbid_model_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command loads a model (bad input must be refused before)."""

    def refuse(*args: object, **kwargs: object) -> BaseLLM:
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr("autotune.llm.load_llm", refuse)


def store_uri(directory: Path) -> str:
    return "sqlite:///" + (directory / "store" / "mlflow.db").as_posix()


def single_run(uri: str) -> tuple[MlflowClient, Run]:
    """The store's one run, in its command's own experiment ("autotune generate")."""
    client = MlflowClient(tracking_uri=uri)
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    runs = client.search_runs(list(experiments))
    assert len(runs) == 1
    command = runs[0].data.tags["autotune.command"]
    assert experiments[runs[0].info.experiment_id] == f"autotune {command}"
    return client, runs[0]


def artifact_text(client: MlflowClient, run: Run, name: str, directory: Path) -> str:
    local = client.download_artifacts(run.info.run_id, name, dst_path=str(directory))
    return Path(local).read_text(encoding="utf-8")
