"""Experiment files: one TOML file names everything a batch optimization run needs.

```toml
name = "quickstart"
benchmark = "../benchmarks/sentiment/suite.toml"   # paths are relative to this file
seed_prompt = "sentiment_seed.txt"

[models]
task = "smollm2"          # the model the prompt is for
meta = "smollm2"          # the Meta-LLM that writes prompts (may differ)
timeout_s = 60            # per HTTP model call (OpenAI-compatible servers)
max_retries = 4           # retries of a failed HTTP call

[search]                  # autotune.search.settings.SearchSettings
n_trials = 30

[budget]                  # the first limit reached stops the search cleanly
max_wall_s = 600

[output]
register_as = "quickstart-sentiment"
alias = "candidate"
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from autotune.bench._locate import find_line, read_validated
from autotune.errors import ConfigError
from autotune.search.settings import BudgetSettings, SearchSettings


class ModelSettings(BaseModel):
    """Which models run the task and the Meta-LLM."""

    model_config = ConfigDict(extra="forbid")

    task: str = "smollm2"
    meta: str | None = None
    base_url: str | None = None
    meta_base_url: str | None = None
    n_ctx: int | None = Field(None, ge=256)
    n_threads: int | None = Field(None, ge=1)
    cache: bool = True
    timeout_s: float | None = Field(None, gt=0)
    max_retries: int | None = Field(None, ge=0)


class TrackingSettings(BaseModel):
    """Where trials are logged and where the Optuna study lives."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    uri: str | None = None
    experiment: str | None = None  # default: "NAME (study)", one experiment per study
    storage: str | None = None


class OutputSettings(BaseModel):
    """Where the best prompt goes."""

    model_config = ConfigDict(extra="forbid")

    dir: str | None = None
    register_as: str | None = None
    alias: str = "candidate"


class Experiment(BaseModel):
    """A validated experiment file. Paths are resolved against the file's folder."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    benchmark: str
    seed_prompt: str
    description: str = ""
    models: ModelSettings = Field(default_factory=ModelSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    source: str = Field("", exclude=True)
    force_resume: bool = Field(False, exclude=True)
    """Set by ``autotune run --force``: resume the study although its configuration
    changed, where that is safe (the search driver decides, see
    :func:`autotune.search.fingerprint.check_fingerprint`)."""

    def path(self, value: str) -> Path:
        """A path from the file, relative to the file's folder."""
        base = Path(self.source).parent if self.source else Path.cwd()
        return (base / value).resolve()

    def output_dir(self) -> Path:
        """Where the best prompt and the result summary are written."""
        if self.output.dir:
            return self.path(self.output.dir)
        return (Path.cwd() / "mlruns" / "results" / self.name).resolve()


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; errors name the file, line and field."""
    file = Path(path)
    experiment, text = read_validated(file, Experiment, "experiment")
    experiment.source = str(file.resolve())
    _check_models(experiment, file, text)
    for key in ("benchmark", "seed_prompt"):
        if not experiment.path(getattr(experiment, key)).is_file():
            line = _line_of(text, key)
            raise ConfigError("file not found", file=str(file), line=line, field=key)
    return experiment


def _check_models(experiment: Experiment, file: Path, text: str) -> None:
    """Malformed model strings and URLs fail at load time, naming the file, line and field."""
    from autotune.llm.registry import parse_model_spec
    from autotune.llm.urls import check_base_url

    for key in ("task", "meta", "base_url", "meta_base_url"):
        value = getattr(experiment.models, key)
        if value is None:
            continue
        try:
            if key.endswith("base_url"):
                setattr(experiment.models, key, check_base_url(value))
            else:
                parse_model_spec(value)
        except ConfigError as error:
            line = find_line(text, ["models", key])
            field = f"models.{key}"
            raise ConfigError(error.message, file=str(file), line=line, field=field) from None


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(f"{key} ") or line.strip().startswith(f"{key}="):
            return number
    return None
