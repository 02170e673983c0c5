"""Operators that need no Meta-LLM: drop a part, merge two parents, re-draw the demos,
change the user-message framing, move the instruction."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from typing import ClassVar

from autotune.bench.case import Case
from autotune.meta._render import show_value
from autotune.prompt import Demo
from autotune.search.candidate import Candidate
from autotune.search.operators.base import BaseOperator, Child, OperatorContext
from autotune.search.parts import SECTIONS, PromptParts

MERGEABLE = (*SECTIONS, "demos", "user_template", "position")


class DropPart(BaseOperator):
    """Removes one section, all demos, or the calibration: junk that does not earn its
    tokens goes."""

    name: ClassVar[str] = "drop"

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        return parent.parts.present()

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        parts = without(parent.parts, target)
        return Child(parts, (parent.number,), note=f"dropped {target}")


def without(parts: PromptParts, part: str) -> PromptParts:
    """``parts`` without one section, or without demos or calibration."""
    return parts.with_(**{part: () if part in ("demos", "calibration") else ""})


class MergeParents(BaseOperator):
    """Takes one part from another front candidate where the two differ."""

    name: ClassVar[str] = "merge"

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        partners = [n for n in context.front if n != parent.number]
        return ["merge"] if partners else []

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        partners = sorted(n for n in context.front if n != parent.number)
        partner = context.population.get(context.rng.choice(partners))
        differing = [
            part
            for part in MERGEABLE
            if getattr(parent.parts, part) != getattr(partner.parts, part)
        ]
        if not differing:
            return Child(None, (parent.number, partner.number), note="parents do not differ")
        part = context.rng.choice(differing)
        parts = parent.parts.with_(**{part: getattr(partner.parts, part)})
        return Child(parts, (parent.number, partner.number), note=f"{part} from #{partner.number}")


class RedrawDemos(BaseOperator):
    """Swaps one demo for another of the same label, or draws a new label-balanced set."""

    name: ClassVar[str] = "demos"

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        return ["demos"] if context.space.demo_pool else []

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        space, rng = context.space, context.rng
        counts = [n for n in space.settings.demo_counts if n > 0] or [2]
        demos = parent.parts.demos
        if demos and rng.random() < 0.5:
            new, note = swap_one(demos, space.demo_pool, rng), "swapped one demo"
        else:
            count = rng.choice(counts)
            new, note = balanced_demos(space.demo_pool, count, rng), f"drew {count} demos"
        if new == demos:
            return Child(None, (parent.number,), note="no other demos to draw")
        return Child(parent.parts.with_(demos=new), (parent.number,), note=note)


def as_demo(case: Case) -> Demo:
    return Demo.of(case.inputs, show_value(case.expected))


def balanced_demos(pool: Sequence[Case], count: int, rng: random.Random) -> tuple[Demo, ...]:
    """``count`` demos with the labels taking turns, so no label dominates the last turns
    (small models lean toward the label they saw last)."""
    by_label: dict[str, list[Case]] = defaultdict(list)
    for case in pool:
        by_label[show_value(case.expected)].append(case)
    queues = {label: rng.sample(cases, len(cases)) for label, cases in sorted(by_label.items())}
    chosen: list[Case] = []
    while len(chosen) < count and any(queues.values()):
        labels = [label for label, queue in queues.items() if queue]
        rng.shuffle(labels)
        for label in labels[: count - len(chosen)]:
            chosen.append(queues[label].pop())
    return tuple(as_demo(case) for case in chosen)


def swap_one(demos: tuple[Demo, ...], pool: Sequence[Case], rng: random.Random) -> tuple[Demo, ...]:
    """``demos`` with one demo replaced by an unused pool case of the same answer."""
    index = rng.randrange(len(demos))
    used = set(demos)
    same = [
        demo
        for demo in (as_demo(case) for case in pool)
        if demo.output == demos[index].output and demo not in used
    ]
    if not same:
        return demos
    return (*demos[:index], rng.choice(same), *demos[index + 1 :])


class ChangeFraming(BaseOperator):
    """Frames the case in the user message differently (a label, an answer cue)."""

    name: ClassVar[str] = "framing"

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        return ["framing"] if len(framings(context.space.seed.user_template)) > 1 else []

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        options = [
            t for t in framings(context.space.seed.user_template) if t != parent.parts.user_template
        ]
        template = context.rng.choice(options)
        note = f"framing {template!r}"
        return Child(parent.parts.with_(user_template=template), (parent.number,), note=note)


def framings(template: str) -> list[str]:
    """Ways to frame a user template: as is, labelled as input, with an answer cue."""
    single_line = "\n" not in template.strip()
    prefixes = ["", "Input: "] if single_line else [""]
    return [f"{p}{template}{s}" for p in prefixes for s in ("", "\nAnswer:")]


class MoveInstruction(BaseOperator):
    """Moves the instruction between the system message and the first user message."""

    name: ClassVar[str] = "position"

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        return ["position"] if len(context.space.settings.positions) > 1 else []

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        other = "user" if parent.parts.position == "system" else "system"
        return Child(
            parent.parts.with_(position=other), (parent.number,), note=f"instruction in {other}"
        )
