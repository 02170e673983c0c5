"""Find what a report argument names: an MLflow run, a comparison or an Optuna study."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autotune.errors import ConfigError
from autotune.report._mlflow_read import get_run, open_client, runs_tagged
from autotune.report._report_data import (
    ReportData,
    compare_from_mlflow,
    eval_from_mlflow,
    study_from_mlflow,
)
from autotune.report._study_read import (
    load_study,
    parent_run_id,
    store_exists,
    study_figures,
    study_from_optuna,
)
from autotune.tracking.mlflow_sink import resolve_tracking_uri

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


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
    client = open_client(uri) if store_exists(uri) else None
    found = _from_mlflow(client, target) if client is not None else None
    if found is not None:
        if found.kind == "study":
            _add_study_figures(found, storage)
        return found
    study = load_study(target, storage)
    if study is None:
        raise ConfigError(
            f"no MLflow run, comparison or Optuna study named {target!r} (store {uri})",
            field="RUN_OR_STUDY",
        )
    parent_id = parent_run_id(study)
    parent = get_run(client, parent_id) if client is not None and parent_id else None
    data = study_from_mlflow(client, parent) if client and parent else study_from_optuna(study)
    data.figures.update(study_figures(study))
    return data


def _add_study_figures(data: ReportData, storage: str | None) -> None:
    """Optuna's importances and parallel coordinates, when the study's storage is here."""
    if data.study_name:
        study = load_study(data.study_name, storage)
        if study is not None:
            data.figures.update(study_figures(study))
