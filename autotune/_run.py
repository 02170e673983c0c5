"""Run an experiment file end to end: build the parts, optimize, save, register."""

from __future__ import annotations

import json
import math
from pathlib import Path

from autotune._atomic import write_atomic
from autotune.bench import (
    Benchmark,
    load_benchmark,
    load_prompt,
    save_prompt,
    validate_prompt_fields,
)
from autotune.errors import AutotuneError, ConfigError
from autotune.experiment import Experiment
from autotune.llm import load_llm
from autotune.llm.accounting import Budget
from autotune.llm.base import BaseLLM
from autotune.search.coordination import run_once
from autotune.search.events import ProgressCallback
from autotune.search.optimizer import PromptOptimizer
from autotune.search.result import OptimizationResult
from autotune.search.storage import check_storage, default_storage_url, open_storage
from autotune.tracking.base import NullTracker, Tracker
from autotune.tracking.traces import CallLog, TracedLLM

STUDY_TRACES = 20


def _traced(task: BaseLLM, meta: BaseLLM, calls: CallLog) -> tuple[BaseLLM, BaseLLM]:
    if meta is task:  # one model writes prompts and answers cases
        shared = TracedLLM(task, calls, "model")
        return shared, shared
    return TracedLLM(task, calls, "task"), TracedLLM(meta, calls, "meta")


def _log_study_inputs(
    tracker: Tracker, run_id: str, benchmark: Benchmark, calls: CallLog, study: tuple[str, str]
) -> None:
    """The benchmark's splits as datasets and sampled calls as traces on the parent run.

    Until the search logs them per trial, they go on the study's parent run: the
    datasets by one worker of ``study`` (storage URL, name; MLflow's store fails two
    that log one dataset at the same moment), each worker's own calls by that worker.
    """
    run = tracker.existing_run(run_id)

    def log_datasets() -> bool:
        for split in ("train", "validation", "test"):
            if benchmark.split(split):
                run.log_dataset(benchmark, split)
        return True

    storage, name = study
    run_once(open_storage(storage), name, f"datasets-{run_id}", log_datasets)
    run.log_calls(calls.drain(), limit=STUDY_TRACES)


def build_llms(experiment: Experiment, cache_path: Path | None = None) -> tuple[BaseLLM, BaseLLM]:
    """The task model and the Meta-LLM (the same object when both name one model)."""
    m = experiment.models

    def load(spec: str, base_url: str | None) -> BaseLLM:
        return load_llm(
            spec,
            base_url=base_url,
            no_cache=not m.cache,
            n_ctx=m.n_ctx,
            n_threads=m.n_threads,
            cache_path=cache_path,
            timeout_s=m.timeout_s,
            max_retries=m.max_retries,
        )

    task = load(m.task, m.base_url)
    meta_spec, meta_url = m.meta or m.task, m.meta_base_url or m.base_url
    if meta_spec == m.task and meta_url == m.base_url:
        return task, task
    return task, load(meta_spec, meta_url)


def build_tracker(experiment: Experiment, benchmark: str = "") -> Tracker:
    """The study's own MLflow experiment (``NAME (study)``) unless the file names one."""
    if not experiment.tracking.enabled:
        return NullTracker()
    from autotune.tracking.mlflow_sink import MlflowTracker
    from autotune.tracking.naming import study_description, study_experiment

    name = experiment.tracking.experiment or study_experiment(experiment.name)
    description = study_description(experiment.name, benchmark or experiment.benchmark)
    return MlflowTracker(experiment.tracking.uri, name, description)


def check_scored(result: OptimizationResult) -> None:
    """Refuse a result whose final scores were not actually taken (errors, not scores).

    Raises:
        UnusableResult: Validation scored nothing, or the held-out test of the seed or
            the best prompt has too many errors (the default :class:`ErrorPolicy`).
    """
    if math.isnan(result.best_validation) or math.isnan(result.seed_validation):
        raise AutotuneError(
            "run unusable: no validation case was scored (every model call failed); "
            "best_prompt.toml was not written"
        )
    if result.held_out is not None and result.held_out.seed.rows:  # kept ones were checked
        result.held_out.seed.check_usable(what="held-out test of the seed")
        result.held_out.best.check_usable(what="held-out test of the best prompt")


def run_experiment(
    experiment: Experiment,
    *,
    on_progress: ProgressCallback | None = None,
    tracker: Tracker | None = None,
    llms: tuple[BaseLLM, BaseLLM] | None = None,
) -> OptimizationResult:
    """Optimize the experiment's seed prompt; write and register the best prompt."""
    benchmark = load_benchmark(experiment.path(experiment.benchmark))
    if experiment.description:
        benchmark.description = experiment.description
    seed_file = experiment.path(experiment.seed_prompt)
    seed = load_prompt(seed_file, benchmark.user_template).with_(name="seed")
    if not seed.system.strip():
        message = "the seed prompt has no instruction text for the search to start from"
        raise ConfigError(message, file=str(seed_file), field="system")
    validate_prompt_fields(seed, benchmark, prompt_file=str(seed_file))
    # A broken store fails before any call.
    tracker = tracker or build_tracker(experiment, benchmark.name)
    storage = experiment.tracking.storage or default_storage_url()
    check_storage(storage)
    task_llm, meta_llm = llms or build_llms(experiment)
    calls = CallLog()
    if not isinstance(tracker, NullTracker):
        task_llm, meta_llm = _traced(task_llm, meta_llm, calls)
    b = experiment.budget
    optimizer = PromptOptimizer(
        task_llm,
        meta_llm,
        settings=experiment.search,
        budget=Budget(b.max_calls, b.max_tokens, b.max_usd, b.max_wall_s),
        final_budget=b.final_calls,
        tracker=tracker,
        storage=storage,
        study_name=experiment.name,
        on_progress=on_progress,
        force_resume=experiment.force_resume,
    )
    result = optimizer.optimize(benchmark, seed)
    check_scored(result)  # an outage never becomes the "best prompt"
    if result.parent_run_id:
        study = (storage, experiment.name)
        _log_study_inputs(tracker, result.parent_run_id, benchmark, calls, study)
    out = experiment.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    result.prompt_path = save_prompt(result.best_prompt, out / "best_prompt.toml")
    if experiment.output.register_as and experiment.tracking.enabled:
        _register(experiment, result, storage)
    write_atomic(out / "result.json", json.dumps(result.summary(), indent=2, default=str))
    return result


def _register(experiment: Experiment, result: OptimizationResult, storage: str) -> None:
    """Register the best prompt once per study, whichever of its workers gets there."""
    from autotune.tracking.registry import register_prompt

    name, alias = experiment.output.register_as, experiment.output.alias
    assert name is not None

    def register() -> int:
        return register_prompt(
            result.best_prompt,
            name,
            alias=alias,
            tracking_uri=experiment.tracking.uri,
            commit_message=f"autotune run {experiment.name}",
            tags={"autotune.study": experiment.name},
        )

    key = f"register-{experiment.search.n_trials}-{name}@{alias}"
    result.registry_uri = f"prompts:/{name}@{alias}"
    result.usage["registry_version"] = run_once(
        open_storage(storage), experiment.name, key, register
    )
