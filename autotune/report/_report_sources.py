"""Find what a report argument names: an MLflow run, a comparison or an Optuna study."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune.errors import ConfigError
from autotune.prompt import Prompt
from autotune.report._mlflow_read import get_run, open_client, runs_tagged
from autotune.report._report_data import (
    ReportData,
    ReportRow,
    compare_from_mlflow,
    eval_from_mlflow,
    study_from_mlflow,
)
from autotune.tracking._records import prompt_markdown
from autotune.tracking.mlflow_sink import resolve_tracking_uri

if TYPE_CHECKING:
    import optuna
    from mlflow.tracking import MlflowClient

DEFAULT_OPTUNA_FILE = Path("mlruns") / "optuna.db"
_SQLITE = "sqlite:///"


def _store_exists(uri: str) -> bool:
    """False for a SQLite store whose file is missing (opening it would create it)."""
    return not uri.startswith(_SQLITE) or Path(uri[len(_SQLITE) :]).is_file()


def _from_mlflow(client: MlflowClient, target: str) -> ReportData | None:
    run = get_run(client, target)
    if run is not None:
        kind = run.data.tags.get("autotune.kind")
        group = run.data.tags.get("autotune.compare_group")
        if kind == "study":
            return study_from_mlflow(client, run)
        if kind == "compare" and group:
            return compare_from_mlflow(client, group)
        return eval_from_mlflow(client, run)
    if runs_tagged(client, "autotune.compare_group", target):
        return compare_from_mlflow(client, target)
    studies = [
        run
        for run in runs_tagged(client, "autotune.study", target)
        if run.data.tags.get("autotune.kind") == "study"
    ]
    return study_from_mlflow(client, studies[-1]) if studies else None


def _load_study(name: str, storage: str | None) -> optuna.Study | None:
    import optuna

    if storage is None:
        if not DEFAULT_OPTUNA_FILE.is_file():
            return None
        storage = _SQLITE + DEFAULT_OPTUNA_FILE.resolve().as_posix()
    elif not _store_exists(storage):
        raise ConfigError("Optuna storage not found", field="--storage", file=storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None


def _slot_text(study: optuna.Study, params: dict[str, Any]) -> str:
    entry = study.user_attrs.get(f"pool_slot_{params.get('instruction', '')}")
    instruction = entry.get("instruction", "") if isinstance(entry, dict) else ""
    return prompt_markdown(
        Prompt(system=str(instruction), name=f"slot {params.get('instruction')}")
    )


def study_from_optuna(study: optuna.Study) -> ReportData:
    """A study without MLflow runs: trial values, states, parameters and instructions."""
    rows = [
        ReportRow(
            label=f"trial {trial.number}",
            number=trial.number,
            state=trial.state.name,
            score=trial.value,
            params={key: str(value) for key, value in trial.params.items()},
            prompt=_slot_text(study, trial.params),
        )
        for trial in study.get_trials(deepcopy=False)
    ]
    data = ReportData("study", f"Study {study.study_name}", {"trials": str(len(rows))}, rows)
    seed = next((row for row in rows if row.params.get("instruction") == "0"), None)
    best = data.best()
    if seed is not None:
        data.before = ("seed prompt", seed.prompt)
    if best is not None:
        data.after = (f"best prompt ({best.label})", best.prompt)
    return data


def load_report_data(
    target: str, *, tracking_uri: str | None = None, storage: str | None = None
) -> ReportData:
    """What ``target`` names, read from MLflow first, then from the Optuna study.

    ``target`` is a run id (a study's parent run, a compare run, an eval run), a
    comparison's group id, or a study name.

    Raises:
        ConfigError: Nothing of that name in either store.
    """
    uri = resolve_tracking_uri(tracking_uri)
    client = open_client(uri) if _store_exists(uri) else None
    if client is not None:
        found = _from_mlflow(client, target)
        if found is not None:
            return found
    study = _load_study(target, storage)
    if study is None:
        raise ConfigError(
            f"no MLflow run, comparison or Optuna study named {target!r} (store {uri})",
            field="RUN_OR_STUDY",
        )
    parent_id = study.user_attrs.get("mlflow_parent_run_id")
    parent = get_run(client, str(parent_id)) if client is not None and parent_id else None
    if client is not None and parent is not None:
        return study_from_mlflow(client, parent)
    return study_from_optuna(study)
