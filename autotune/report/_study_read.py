"""Everything the report reads from an Optuna study, in one place.

Candidates are read through the search's public reader
(:func:`autotune.search.reader.record_of`); Optuna's own plots take the study itself.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune.errors import ConfigError
from autotune.report._report_data import ReportData, ReportRow
from autotune.tracking._records import prompt_markdown

if TYPE_CHECKING:
    import optuna

DEFAULT_OPTUNA_FILE = Path("mlruns") / "optuna.db"
_SQLITE = "sqlite:///"


def store_exists(uri: str) -> bool:
    """False for a SQLite store whose file is missing (opening it would create it)."""
    return not uri.startswith(_SQLITE) or Path(uri[len(_SQLITE) :]).is_file()


def load_study(name: str, storage: str | None) -> optuna.Study | None:
    """The study ``name`` in ``storage`` (default ``mlruns/optuna.db``), or None.

    Raises:
        ConfigError: ``storage`` was given and does not exist.
    """
    import optuna

    if storage is None:
        if not DEFAULT_OPTUNA_FILE.is_file():
            return None
        storage = _SQLITE + DEFAULT_OPTUNA_FILE.resolve().as_posix()
    elif not store_exists(storage):
        raise ConfigError("Optuna storage not found", field="--storage", file=storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None


def parent_run_id(study: optuna.Study) -> str | None:
    """The MLflow parent run the study logged to, if any."""
    from autotune.search.reader import record_of

    return record_of(study).parent_run_id()


def study_from_optuna(study: optuna.Study) -> ReportData:
    """A study without MLflow runs: candidates' scores, states, parts and prompts."""
    from autotune.search.reader import readable_params, record_of

    record = record_of(study)
    rows = [
        ReportRow(
            label=f"candidate {row.candidate.number}",
            number=row.candidate.number,
            state=row.candidate.status,
            score=row.candidate.value,
            params={key: str(value) for key, value in readable_params(row.candidate).items()},
            prompt=prompt_markdown(
                row.candidate.parts.to_prompt(f"candidate {row.candidate.number}")
            ),
        )
        for row in record.candidates
    ]
    data = ReportData("study", f"Study {record.name}", {"candidates": str(len(rows))}, rows)
    seed = record.seed()
    if seed is not None:
        data.before = ("seed prompt", prompt_markdown(seed.parts.to_prompt("seed")))
    best = next((row for row in rows if row.number == record.best_number()), None)
    if best is not None:
        data.after = (f"best prompt ({best.label})", best.prompt)
    return data


def study_figures(study: optuna.Study) -> dict[str, Any]:
    """Optuna's own views of the search: parameter importances and parallel coordinates.

    Importances need two or more finished trials whose parameters vary; a study that
    cannot give a figure simply has none.
    """
    import optuna
    from optuna.visualization import plot_parallel_coordinate, plot_param_importances

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    figures: dict[str, Any] = {}
    for div_id, plot in (
        ("plot-importances", plot_param_importances),
        ("plot-parallel", plot_parallel_coordinate),
    ):
        try:
            with warnings.catch_warnings():  # "importances will be equal": the plot says so
                warnings.simplefilter("ignore", UserWarning)
                figure = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError):  # too few distinct params
            continue
        figure.update_layout(template="plotly_white", height=380)
        figures[div_id] = figure
    return figures
