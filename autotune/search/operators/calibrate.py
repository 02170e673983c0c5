"""The ``calibrate`` operator: read a label task's answers against the labels' lean.

It needs no Meta-LLM and no model call: the parent's search cases already hold each
label's log-probability (the evaluator asks for them on label tasks), so the bias is
estimated from those unlabelled inputs (see :mod:`autotune.evaluate.calibration`). The
child sends its parent's very requests, so the evolution judges it on every case the
parent was scored on (answers from the response cache) rather than on a mini-batch; in
the final phase the bias is re-estimated on the validation inputs and the calibration
is kept only if removing it lowers the validation score.
"""

from __future__ import annotations

from typing import ClassVar

from autotune.evaluate.calibration import Bias, estimate_bias, same_bias
from autotune.search.candidate import Candidate
from autotune.search.operators.base import BaseOperator, Child, OperatorContext


class Calibrate(BaseOperator):
    """Sets the parent's calibration from the label probabilities of its search cases."""

    name: ClassVar[str] = "calibrate"

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        return [] if _new_bias(parent) is None else ["calibrate"]

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        bias = _new_bias(parent)
        if bias is None:
            return Child(None, (parent.number,), note="no new calibration for this parent")
        lean = ", ".join(f"{label} {value:+.2f}" for label, value in bias)
        return Child(parent.parts.with_(calibration=bias), (parent.number,), note=f"lean {lean}")


def _new_bias(parent: Candidate) -> Bias | None:
    """The bias of the parent's search cases, unless too few or the one it has."""
    bias = estimate_bias(parent.label_logprobs())
    return None if bias is None or same_bias(bias, parent.parts.calibration) else bias
