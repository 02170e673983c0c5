"""Overhead of autotune's embedded backend over calling llama-cpp-python directly.

Runs the same prompts, with the same sampling parameters and the same loaded
``llama_cpp.Llama``, through ``LlamaCppLLM.execute`` (cache off) and through
``Llama.create_chat_completion``; the order alternates per prompt so neither side
always runs on a warmer machine. Target: overhead < 5 %.

Usage: python benchmarks/bench_llm_overhead.py [--rounds 2] [--max-tokens 32]
Writes benchmarks/results/llm_overhead.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from autotune.llm import Message, SamplingParams
from autotune.llm.embedded import LlamaCppLLM

RESULT_PATH = Path(__file__).parent / "results" / "llm_overhead.json"

PROMPTS = [
    "Name three primary colours.",
    "What is two plus five?",
    "Write a haiku about rain.",
    "Give a synonym for 'happy'.",
    "What is the opposite of 'cold'?",
    "Name a fruit that is yellow.",
    "Translate 'hello' into French.",
    "List two planets of the solar system.",
    "Finish the sentence: The sun rises in the",
    "What do bees make?",
    "Describe a cat in one sentence.",
    "What is the capital of Italy?",
    "Count from one to five.",
    "Suggest a name for a pet dog.",
    "What is water made of?",
    "Give one tip for better sleep.",
    "Is a tomato a fruit or a vegetable?",
    "Name an animal that lives in the sea.",
    "What colour is the sky on a clear day?",
    "Say something kind to a friend.",
]


def run_direct(llama: Any, prompt: str, params: SamplingParams) -> tuple[float, int, str]:
    llama.reset()  # no prompt-prefix reuse from the previous call: every call starts cold
    start = time.perf_counter()
    response = llama.create_chat_completion(
        messages=[{"role": "user", "content": prompt}],
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_tokens,
        stop=None,
        seed=params.seed,
    )
    elapsed = time.perf_counter() - start
    text = response["choices"][0]["message"]["content"]
    return elapsed, int(response["usage"]["completion_tokens"]), text


def run_wrapped(llm: LlamaCppLLM, prompt: str, params: SamplingParams) -> tuple[float, int, str]:
    llm.llama.reset()
    start = time.perf_counter()
    completion = llm.execute([Message("user", prompt)], params)
    return time.perf_counter() - start, completion.completion_tokens, completion.text


def measure(llm: LlamaCppLLM, params: SamplingParams, rounds: int) -> dict[str, Any]:
    """Time every prompt ``rounds`` times on both sides, alternating which goes first."""
    llama = llm.llama
    for prompt in PROMPTS[:3]:  # warm-up: caches, allocator, CPU frequency
        run_direct(llama, prompt, params)
        run_wrapped(llm, prompt, params)
    runs: dict[str, list[list[tuple[float, int, str]]]] = {
        "direct": [[] for _ in PROMPTS],
        "autotune": [[] for _ in PROMPTS],
    }
    for round_index in range(rounds):
        for i, prompt in enumerate(PROMPTS):
            if (i + round_index) % 2 == 0:
                runs["autotune"][i].append(run_wrapped(llm, prompt, params))
                runs["direct"][i].append(run_direct(llama, prompt, params))
            else:
                runs["direct"][i].append(run_direct(llama, prompt, params))
                runs["autotune"][i].append(run_wrapped(llm, prompt, params))
    return summarize(runs)


def summarize(runs: dict[str, list[list[tuple[float, int, str]]]]) -> dict[str, Any]:
    sides: dict[str, dict[str, float]] = {}
    for side, per_prompt in runs.items():
        flat = [run for prompt_runs in per_prompt for run in prompt_runs]
        seconds = sum(run[0] for run in flat)
        tokens = sum(run[1] for run in flat)
        sides[side] = {
            "calls": len(flat),
            "seconds": seconds,
            "tokens": tokens,
            "calls_per_s": len(flat) / seconds,
            "tokens_per_s": tokens / seconds,
            # Best of the rounds per prompt (as timeit does): spikes of load from other
            # processes only ever add time, so the minimum is the least noisy estimate.
            "best_seconds": sum(min(run[0] for run in prompt_runs) for prompt_runs in per_prompt),
        }
    pairs = [
        (wrapped, direct)
        for wrapped_runs, direct_runs in zip(runs["autotune"], runs["direct"], strict=True)
        for wrapped, direct in zip(wrapped_runs, direct_runs, strict=True)
    ]
    wrapped_side, direct_side = sides["autotune"], sides["direct"]
    return {
        "sides": sides,
        "overhead_pct_best_of_rounds": (
            wrapped_side["best_seconds"] / direct_side["best_seconds"] - 1
        )
        * 100,
        "overhead_pct_median_paired": (statistics.median(w[0] / d[0] for w, d in pairs) - 1) * 100,
        "overhead_ms_median_paired": statistics.median((w[0] - d[0]) * 1000 for w, d in pairs),
        "overhead_pct_total_time": (wrapped_side["seconds"] / direct_side["seconds"] - 1) * 100,
        "text_mismatches": sum(w[2] != d[2] for w, d in pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    llm = LlamaCppLLM(n_ctx=2048, n_threads=args.threads)
    params = SamplingParams(temperature=0.0, max_tokens=args.max_tokens, seed=0)
    result = measure(llm, params, args.rounds)
    result.update(
        {
            "model": str(llm.model_path.name),
            "prompts": len(PROMPTS),
            "rounds": args.rounds,
            "max_tokens": args.max_tokens,
            "threads": args.threads,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "target_overhead_pct": 5.0,
        }
    )
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{'side':<10}{'calls':>7}{'seconds':>10}{'calls/s':>10}{'tokens/s':>10}")
    for name, side in result["sides"].items():
        print(
            f"{name:<10}{side['calls']:>7}{side['seconds']:>10.2f}"
            f"{side['calls_per_s']:>10.2f}{side['tokens_per_s']:>10.1f}"
        )
    print(
        f"overhead: {result['overhead_pct_best_of_rounds']:+.2f} % (best of rounds), "
        f"{result['overhead_pct_median_paired']:+.2f} % = "
        f"{result['overhead_ms_median_paired']:+.2f} ms/call (median over pairs), "
        f"{result['overhead_pct_total_time']:+.2f} % (total time, noisiest); target < 5 %"
    )
    print(f"identical texts on both sides: {result['text_mismatches'] == 0}")
    print(f"wrote {RESULT_PATH}")


if __name__ == "__main__":
    main()
