"""The search: searchers, candidates, the optimizer facade and the study reader."""

from autotune.search.base import Ask, BaseSearcher, SearchSpace
from autotune.search.candidate import Candidate, CaseScore, Feedback
from autotune.search.evolution import EvolutionSearcher
from autotune.search.optimizer import PromptOptimizer
from autotune.search.parts import PromptParts
from autotune.search.population import Population
from autotune.search.reader import StudyRecord, read_study
from autotune.search.result import Contribution, Finalist, OptimizationResult
from autotune.search.settings import SearchSettings
from autotune.search.tpe import TPESearcher

__all__ = [
    "Ask",
    "BaseSearcher",
    "Candidate",
    "CaseScore",
    "Contribution",
    "EvolutionSearcher",
    "Feedback",
    "Finalist",
    "OptimizationResult",
    "Population",
    "PromptOptimizer",
    "PromptParts",
    "SearchSettings",
    "SearchSpace",
    "StudyRecord",
    "TPESearcher",
    "read_study",
]
