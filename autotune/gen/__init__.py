"""Generation commands as an API: prompts from intents, synthetic cases, Reflexion.

from autotune.gen import generate_prompt, synthesize_cases, reflect
prompt = generate_prompt("a support bot for billing disputes", meta_llm)
report = synthesize_cases("billing dispute emails", llm, 50, labels=["refund", "other"])
reflection = reflect("Is 1001 prime?", llm, rounds=2)
"""

from autotune.gen._demos import demo_texts
from autotune.gen._files import check_data_path, check_writable, write_benchmark
from autotune.gen.generate import GeneratedPrompt, GenerateSettings, RoundScore, generate_prompt
from autotune.gen.reflect import Reflection, ReflexionRound, reflect
from autotune.gen.synth import SynthCase, SynthReport, SynthSettings, synthesize_cases

__all__ = [
    "GenerateSettings",
    "GeneratedPrompt",
    "Reflection",
    "ReflexionRound",
    "RoundScore",
    "SynthCase",
    "SynthReport",
    "SynthSettings",
    "check_data_path",
    "check_writable",
    "demo_texts",
    "generate_prompt",
    "reflect",
    "synthesize_cases",
    "write_benchmark",
]
