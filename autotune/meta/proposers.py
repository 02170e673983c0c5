"""The proposer extension point: a Meta-LLM writes new candidate instructions.

:class:`GeneratorProposer` drafts a five-section system prompt from the task and a few
training cases; :class:`RefinerProposer` asks the Critic why the current prompt fails
on its failures (a "textual gradient") and the Refiner to rewrite it. A proposal that
cannot be parsed or repaired is *rejected* and counted, never raised.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from autotune.errors import BudgetExceeded, FatalLLMError, LLMError
from autotune.evaluate.results import CaseResult
from autotune.llm.base import BaseLLM
from autotune.llm.types import Message, SamplingParams
from autotune.meta._render import (
    examples_block,
    failures_block,
    render_template,
)
from autotune.meta.brief import TaskBrief
from autotune.meta.gates import check_edit, vocabulary
from autotune.meta.sections import PromptSections, parse_sections, repair_sections

DEFAULT_PERSONA = "You are a careful expert who does exactly this task."


@dataclass
class Proposal:
    """One Meta-LLM proposal: a new instruction, or why there is none."""

    origin: str
    instruction: str | None = None
    rejected: str = ""
    critique: str = ""
    raw: str = ""
    repaired: list[str] = field(default_factory=list)
    calls: int = 0

    @property
    def ok(self) -> bool:
        return self.instruction is not None


class BaseProposer(abc.ABC):
    """Writes one new candidate instruction per call to :meth:`propose`."""

    name: str = "proposer"

    def __init__(
        self,
        meta_llm: BaseLLM,
        *,
        temperature: float = 0.7,
        max_tokens: int = 400,
        attempts: int = 2,
        seed: int = 0,
    ) -> None:
        self.meta_llm = meta_llm
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.attempts = max(1, attempts)
        self.seed = seed

    @abc.abstractmethod
    def propose(
        self,
        brief: TaskBrief,
        current: str,
        failures: Sequence[CaseResult],
        sample_index: int,
    ) -> Proposal:
        """Write a new instruction; ``sample_index`` makes repeated calls differ."""

    def _ask(self, text: str, sample_index: int, proposal: Proposal) -> str:
        """One Meta-LLM call; a failed call is an empty answer (a rejected proposal)."""
        params = SamplingParams(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
            sample_index=sample_index,
        )
        proposal.calls += 1
        try:
            return self.meta_llm.execute([Message("user", text)], params).text
        except (BudgetExceeded, FatalLLMError):
            raise  # a wrong key or URL is not a bad proposal: it stops the command
        except (LLMError, OSError, ValueError) as exc:
            proposal.rejected = f"meta-LLM call failed: {exc}"
            return ""

    def _ask_for_prompt(
        self, brief: TaskBrief, text: str, sample_index: int, proposal: Proposal
    ) -> Proposal:
        """Ask up to ``attempts`` times (different samples) until an answer parses."""
        for attempt in range(self.attempts):
            raw = self._ask(text, sample_index * self.attempts + attempt, proposal)
            if self._finish(brief, raw, proposal).ok:
                break
        return proposal

    def _finish(self, brief: TaskBrief, raw: str, proposal: Proposal) -> Proposal:
        """Parse, repair and accept or reject the Meta-LLM's prompt."""
        proposal.raw = raw
        outcome = parse_sections(raw)
        if outcome.sections is None:
            proposal.rejected = proposal.rejected or outcome.rejected
            return proposal
        gated, dropped = gate_sections(outcome.sections, brief)
        if not any((gated.persona, gated.context, gated.steps)):
            proposal.rejected = f"no usable instruction after gating ({'; '.join(dropped)})"
            return proposal
        sections, fixed = repair_sections(
            gated,
            format_hint=brief.format_hint,
            examples=examples_block(brief.train_cases[:3], brief.user_template),
            persona=DEFAULT_PERSONA,
        )
        proposal.instruction = sections.render()
        proposal.repaired = [*dropped, *fixed]
        proposal.rejected = ""
        return proposal


class GeneratorProposer(BaseProposer):
    """Drafts a Persona/Context/Steps/Format/Examples prompt from the task."""

    name = "generator"

    def propose(
        self,
        brief: TaskBrief,
        current: str,
        failures: Sequence[CaseResult],
        sample_index: int,
    ) -> Proposal:
        seed_block = f"\nA first draft of the prompt:\n<<<\n{current}\n>>>\n" if current else ""
        text = render_template(
            "generator.md",
            task=brief.description,
            seed_block=seed_block,
            examples_block=_examples_intro(brief),
            format_hint=brief.format_hint,
        )
        return self._ask_for_prompt(brief, text, sample_index, Proposal(origin=self.name))


class RefinerProposer(BaseProposer):
    """Critic then Refiner: diagnose the failures, rewrite the prompt to fix them."""

    name = "refiner"

    def propose(
        self,
        brief: TaskBrief,
        current: str,
        failures: Sequence[CaseResult],
        sample_index: int,
    ) -> Proposal:
        proposal = Proposal(origin=self.name)
        shown = failures_block(failures)
        critic_text = render_template(
            "critic.md", task=brief.description, prompt=current, failures=shown
        )
        critique = self._ask(critic_text, sample_index, proposal).strip()
        proposal.critique = critique[:1500] or "(the critic gave no diagnosis)"
        refine_text = render_template(
            "refiner.md",
            task=brief.description,
            prompt=current,
            critique=proposal.critique,
            failures=shown,
            format_hint=brief.format_hint,
        )
        return self._ask_for_prompt(brief, refine_text, sample_index, proposal)


def gate_sections(sections: PromptSections, brief: TaskBrief) -> tuple[PromptSections, list[str]]:
    """``sections`` without the ones carrying chat debris or sharing no word with the task
    (Format and Examples are repaired from the task afterwards); what was dropped and why."""
    words = vocabulary([brief.description, brief.format_hint, *brief_inputs(brief)])
    changes: dict[str, str] = {}
    dropped: list[str] = []
    for name in ("persona", "context", "steps"):
        text = getattr(sections, name)
        if not text.strip():
            continue
        verdict = check_edit(text, None if name == "persona" else words, min_words=2)
        if not verdict.ok:
            changes[name] = ""
            dropped.append(f"dropped {name}: {verdict.reason}")
    return replace(sections, **changes), dropped


def brief_inputs(brief: TaskBrief) -> list[str]:
    """The training inputs a proposer was shown, as text."""
    return [" ".join(str(v) for v in case.inputs.values()) for case in brief.train_cases[:20]]


def _examples_intro(brief: TaskBrief) -> str:
    """Training examples for the Generator, or nothing when there are none."""
    if not brief.train_cases:
        return ""
    examples = examples_block(brief.train_cases[:3], brief.user_template)
    return f"\nHere are example inputs with their correct outputs:\n{examples}\n"
