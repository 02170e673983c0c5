"""Experiment names that read well in the MLflow UI's experiment list.

One experiment per study (its parent run and one child run per trial), one per
benchmark (the eval, compare and regress runs on it, comparable side by side), and
one per generation command. ``--experiment`` (or ``[tracking] experiment``) overrides.
"""

from __future__ import annotations


def study_experiment(study: str) -> str:
    """``quickstart (study)``."""
    return f"{study} (study)"


def benchmark_experiment(benchmark: str) -> str:
    """``sentiment (benchmark)``."""
    return f"{benchmark} (benchmark)"


def command_experiment(command: str) -> str:
    """``autotune generate``."""
    return f"autotune {command}"


def study_description(study: str, benchmark: str) -> str:
    return (
        f"autotune study {study!r} on benchmark {benchmark!r}: the parent run holds the "
        "seed and best prompts and the held-out result; each child run is one trial "
        "(params, train score, prompt, per-case table). Traces: sampled model calls."
    )


def benchmark_description(benchmark: str) -> str:
    return (
        f"Evaluations, comparisons and regression gates on benchmark {benchmark!r}: "
        "one run per prompt and model, with the per-case table and sampled traces."
    )
