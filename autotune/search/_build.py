"""Build a study's search space and its searcher from the settings."""

from __future__ import annotations

import functools

import optuna

from autotune.bench.benchmark import Benchmark
from autotune.llm.base import BaseLLM
from autotune.meta.brief import brief_from_benchmark
from autotune.meta.proposers import GeneratorProposer, RefinerProposer
from autotune.meta.section_edit import SectionEditor
from autotune.prompt import Prompt
from autotune.search._shared import once
from autotune.search.base import BaseSearcher, SearchSpace
from autotune.search.demos import draw_demo_sets, split_train
from autotune.search.evolution import EvolutionSearcher
from autotune.search.operators.base import BaseOperator
from autotune.search.operators.calibrate import Calibrate
from autotune.search.operators.fields import NameFields
from autotune.search.operators.guide import LabelGuide
from autotune.search.operators.rewrite import RewriteSection
from autotune.search.operators.structural import (
    ChangeFraming,
    DropPart,
    MergeParents,
    MoveInstruction,
    RedrawDemos,
)
from autotune.search.parts import PromptParts
from autotune.search.pool import InstructionPool
from autotune.search.settings import SearchSettings
from autotune.search.tpe import TPESearcher

EDIT_MAX_TOKENS = 80


def build_space(benchmark: Benchmark, seed: Prompt, settings: SearchSettings) -> SearchSpace:
    """Training cases split into a demo pool and the search cases (never overlapping)."""
    demo_pool, scoring = split_train(benchmark.split("train"), settings.seed)
    return SearchSpace(
        settings=settings,
        seed=PromptParts.from_prompt(seed),
        search_cases=tuple(scoring[: settings.search_size]),
        demo_pool=tuple(demo_pool),
        brief=brief_from_benchmark(benchmark, demo_pool, scoring),
        labels=tuple(benchmark.labels),
    )


def default_operators(meta_llm: BaseLLM, settings: SearchSettings) -> list[BaseOperator]:
    """Every operator of the evolutionary searcher."""
    editor = SectionEditor(
        meta_llm,
        temperature=settings.meta_temperature,
        max_tokens=min(EDIT_MAX_TOKENS, settings.meta_max_tokens),
        seed=settings.seed,
    )
    operators: list[BaseOperator] = [
        RewriteSection(editor),
        LabelGuide(editor),
        DropPart(),
        MergeParents(),
        RedrawDemos(),
        ChangeFraming(),
        NameFields(),
        MoveInstruction(),
    ]
    return [*operators, Calibrate()] if settings.calibrate_search else operators


def build_searcher(
    settings: SearchSettings, space: SearchSpace, study: optuna.Study, meta_llm: BaseLLM
) -> BaseSearcher:
    """The searcher the settings name."""
    if settings.searcher == "tpe":
        options = {
            "temperature": settings.meta_temperature,
            "max_tokens": settings.meta_max_tokens,
            "seed": settings.seed,
        }
        demo_sets = draw_demo_sets(
            space.demo_pool,
            n_sets=settings.n_demo_sets,
            size=max(settings.demo_counts),
            seed=settings.seed,
        )
        return TPESearcher(
            space,
            InstructionPool(study, settings.pool_size, functools.partial(once, study)),
            demo_sets,
            GeneratorProposer(meta_llm, **options),  # type: ignore[arg-type]
            RefinerProposer(meta_llm, **options),  # type: ignore[arg-type]
        )
    return EvolutionSearcher(space, default_operators(meta_llm, settings))
