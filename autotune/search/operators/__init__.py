"""Operators of the evolutionary searcher: one base, one small module per kind."""

from autotune.search.operators.base import BaseOperator, Child, OperatorContext
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

__all__ = [
    "BaseOperator",
    "Calibrate",
    "ChangeFraming",
    "Child",
    "DropPart",
    "LabelGuide",
    "MergeParents",
    "MoveInstruction",
    "NameFields",
    "OperatorContext",
    "RedrawDemos",
    "RewriteSection",
]
