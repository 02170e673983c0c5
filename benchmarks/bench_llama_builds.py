"""Prompt and generation tokens/s of several llama-cpp-python builds, interleaved.

Each build lives in its own virtual environment. Every round starts one fresh child
process per build, in an order rotated per round so that load from other processes
falls on every build alike. A child loads SmolLM2-135M with autotune's thread settings
(llama-cpp-python's defaults) or ``--threads``, runs one warm-up request, then times
``--reps`` requests of a ``--prompt-tokens`` prompt and a ``--gen-tokens`` generation
(end of text banned, so every request generates exactly that many). llama.cpp's own
counters give prompt-processing and generation tokens/s; the wall clock gives the
whole request. The same work is also timed in CPU seconds of the child (``*_cpu_*``:
the prompt as one batch, then ``--gen-tokens`` one-token decodes, and the request),
which a loaded machine disturbs far less than the wall clock. A child that dies by a
signal is recorded as a crash (the signal and the last lines it wrote) and that build
is not run again.

Usage: python benchmarks/bench_llama_builds.py portable=VENV/bin/python \
           avx512=OTHER/bin/python [--rounds 5] [--reps 3]
Writes benchmarks/results/llama_builds.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

RESULT_PATH = Path(__file__).parent / "results" / "llama_builds.json"

# Plain prose written for this benchmark; repeated until it is long enough, then cut to
# exactly the requested number of tokens.
PROMPT_TEXT = (
    "The harbour town woke slowly. Fishing boats came back before sunrise, gulls argued "
    "over the nets, and the baker opened his shutters to the smell of bread. Children ran "
    "along the sea wall on their way to school while the ferry sounded its horn twice. "
    "An old man repaired a blue rowing boat, explaining to anyone who stopped that the "
    "wood had to breathe before it could be painted. By noon the market square was full "
    "of crates of lemons, baskets of shellfish and stalls selling rope, lamps and maps. "
)

CHILD = r"""
import json, sys, time
import llama_cpp
from llama_cpp import Llama

model, text, n_prompt, n_gen, reps, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
started = time.perf_counter()
llama = Llama(model_path=model, n_ctx=1024, verbose=False,
              n_threads=threads or None, n_threads_batch=threads or None)
load_s = time.perf_counter() - started
tokens = llama.tokenize(text.encode())
while len(tokens) < n_prompt:
    tokens += tokens
tokens = tokens[:n_prompt]
ban_eos = {llama.token_eos(): -1.0e9}

def kernels():
    # CPU seconds of this process: on a shared machine far steadier than the wall clock.
    llama.reset()
    c0 = time.process_time()
    llama.eval(tokens)
    c1 = time.process_time()
    for token in tokens[:n_gen]:
        llama.eval([token])
    c2 = time.process_time()
    return {"prompt_cpu_tok_s": n_prompt / (c1 - c0), "gen_cpu_tok_s": n_gen / (c2 - c1)}

def request():
    llama.reset()  # no reuse of the previous prompt: every request starts cold
    llama_cpp.llama_perf_context_reset(llama.ctx)
    t0, c0 = time.perf_counter(), time.process_time()
    out = llama.create_completion(tokens, max_tokens=n_gen, temperature=0.0, logit_bias=ban_eos)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    perf = llama_cpp.llama_perf_context(llama.ctx)
    return {
        **kernels(),
        "request_cpu_s": cpu,
        "request_s": wall,
        "prompt_tokens": perf.n_p_eval,
        "prompt_tok_s": perf.n_p_eval / (perf.t_p_eval_ms / 1000),
        "gen_evals": perf.n_eval,
        "gen_tok_s": perf.n_eval / (perf.t_eval_ms / 1000),
        "completion_tokens": out["usage"]["completion_tokens"],
        "text": out["choices"][0]["text"],
    }

request()  # warm-up
runs = [request() for _ in range(reps)]
info = llama_cpp.llama_print_system_info().decode(errors="replace")
llama.close()
print(json.dumps({"load_s": load_s, "runs": runs, "system_info": info,
                  "n_threads": llama.n_threads, "n_threads_batch": llama.n_threads_batch}))
"""

METRICS = (
    "prompt_tok_s",
    "gen_tok_s",
    "request_s",
    "prompt_cpu_tok_s",
    "gen_cpu_tok_s",
    "request_cpu_s",
)


def run_child(python: str, args: argparse.Namespace) -> dict[str, Any]:
    """One fresh process of one build; its measurements, or how it died."""
    command = [python, "-c", CHILD, str(args.model), PROMPT_TEXT]
    command += [str(args.prompt_tokens), str(args.gen_tokens), str(args.reps), str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if line.strip()][-5:]
        if done.returncode < 0:
            return {"crashed": signal.Signals(-done.returncode).name, "stderr_tail": tail}
        return {"failed": f"exit code {done.returncode}", "stderr_tail": tail}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def features(system_info: str) -> list[str]:
    """The CPU features a build reports as on (``AVX2 = 1``), as ``autotune doctor`` does."""
    from autotune.doctor import enabled_features

    return enabled_features(system_info)


def summarize(name: str, children: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over every timed request of every round (and the best, least noisy)."""
    good = [child for child in children if "runs" in child]
    out: dict[str, Any] = {"name": name, "children": len(children), "ok_children": len(good)}
    crashes = [child for child in children if "runs" not in child]
    if crashes:
        out["crash"] = crashes[0]
    if not good:
        return out
    runs = [run for child in good for run in child["runs"]]
    for metric in METRICS:
        values = [run[metric] for run in runs]
        best = min(values) if metric.startswith("request") else max(values)
        out[metric] = {"median": statistics.median(values), "best": best, "n": len(values)}
    out["load_s_median"] = statistics.median(child["load_s"] for child in good)
    out["features"] = features(good[0]["system_info"])
    out["threads"] = [good[0]["n_threads"], good[0]["n_threads_batch"]]
    out["sample_text"] = runs[0]["text"]
    return out


def paired_ratios(
    rounds: list[dict[str, dict[str, Any]]], name: str, base: str
) -> dict[str, float]:
    """Median over rounds of (build / baseline) per metric, both measured in that round."""
    ratios: dict[str, float] = {}
    for metric in METRICS:
        pairs = []
        for round_results in rounds:
            this, ref = round_results.get(name, {}), round_results.get(base, {})
            if "runs" in this and "runs" in ref:
                mine = statistics.median(run[metric] for run in this["runs"])
                theirs = statistics.median(run[metric] for run in ref["runs"])
                pairs.append(mine / theirs)
        if pairs:
            ratios[metric] = statistics.median(pairs)
    return ratios


def measure(builds: dict[str, str], args: argparse.Namespace) -> list[dict[str, dict[str, Any]]]:
    names = list(builds)
    crashed: set[str] = set()
    rounds: list[dict[str, dict[str, Any]]] = []
    for index in range(args.rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        round_results: dict[str, dict[str, Any]] = {}
        for name in order:
            if name in crashed:
                continue
            round_results[name] = child = run_child(builds[name], args)
            if "runs" not in child:
                crashed.add(name)
            shown = child.get("crashed") or child.get("failed") or "ok"
            print(f"round {index + 1}/{args.rounds} {name}: {shown}", flush=True)
        rounds.append(round_results)
    return rounds


def parse_args() -> tuple[argparse.Namespace, dict[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("builds", nargs="+", help="NAME=PYTHON; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--prompt-tokens", type=int, default=250)
    parser.add_argument("--gen-tokens", type=int, default=32)
    parser.add_argument(
        "--threads", type=int, default=0, help="threads for prompt and generation (0: defaults)"
    )
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: SmolLM2)")
    parser.add_argument("--out", type=Path, default=RESULT_PATH)
    args = parser.parse_args()
    if args.model is None:
        from autotune.llm.embedded import default_gguf_path

        args.model = default_gguf_path()
    builds = dict(item.split("=", 1) for item in args.builds)
    return args, builds


def main() -> None:
    args, builds = parse_args()
    load_before = os.getloadavg()
    started = time.perf_counter()
    rounds = measure(builds, args)
    base = next(iter(builds))
    results = []
    for name, python in builds.items():
        summary = summarize(name, [r[name] for r in rounds if name in r])
        summary["python"] = python
        summary["vs_" + base] = paired_ratios(rounds, name, base)
        results.append(summary)
    report = {
        "model": args.model.name,
        "prompt_tokens": args.prompt_tokens,
        "gen_tokens": args.gen_tokens,
        "rounds": args.rounds,
        "reps_per_child": args.reps,
        "threads": args.threads or "llama-cpp-python defaults (autotune's setting)",
        "baseline": base,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "seconds": time.perf_counter() - started,
        "builds": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_table(report)
    print(f"wrote {args.out}")


def print_table(report: dict[str, Any]) -> None:
    base = report["baseline"]
    print("medians; wall clock | CPU seconds of the child; ratios: median over rounds")
    print(f"{'build':<18}" + "".join(f"{metric:>18}" for metric in METRICS))
    for build in report["builds"]:
        if "prompt_tok_s" not in build:
            print(f"{build['name']:<18}{build.get('crash') or 'no result'}")
            continue
        print(f"{build['name']:<18}" + "".join(f"{build[m]['median']:>18.2f}" for m in METRICS))
        ratios = build["vs_" + base]
        print(f"{'  vs ' + base:<18}" + "".join(f"{ratios.get(m, 0):>17.3f}x" for m in METRICS))


if __name__ == "__main__":
    main()
