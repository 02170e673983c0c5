"""Benchmarks: cases, suite files, data files and prompt files.

from autotune.bench import load_benchmark, load_prompt
bench = load_benchmark("benchmarks/sentiment/suite.toml")
prompt = load_prompt("experiments/sentiment_seed.txt", bench.user_template)
"""

from autotune.bench.benchmark import SPLITS, Benchmark
from autotune.bench.case import Case
from autotune.bench.prompt_file import load_prompt, save_prompt, validate_prompt_fields
from autotune.bench.suite import load_benchmark, load_cases

__all__ = [
    "SPLITS",
    "Benchmark",
    "Case",
    "load_benchmark",
    "load_cases",
    "load_prompt",
    "save_prompt",
    "validate_prompt_fields",
]
