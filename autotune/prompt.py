"""Prompts: a system message, a user template with ``{field}`` placeholders, demos.

A :class:`Prompt` is an immutable, hashable value. It renders one :class:`Case`'s inputs
into chat messages. Only ``{name}`` placeholders in the *user template* are filled
(``{{`` and ``}}`` are literal braces); the system text is used as written, so prompts a
Meta-LLM writes may contain JSON examples without escaping.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from autotune.llm.types import Message

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")

InstructionPosition = Literal["system", "user"]
DEFAULT_USER_TEMPLATE = "{input}"


def template_fields(template: str) -> set[str]:
    """The placeholder names in a user template."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)}


def fill_template(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders from ``values``; ``{{``/``}}`` become braces.

    Raises:
        KeyError: A placeholder has no value (callers check fields at load time).
    """

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        value = values[match.group(1)]
        return value if isinstance(value, str) else str(value)

    return _PLACEHOLDER.sub(substitute, template)


@dataclass(frozen=True)
class Demo:
    """One few-shot example: inputs and the answer the model should give."""

    inputs: tuple[tuple[str, Any], ...]
    output: str

    @classmethod
    def of(cls, inputs: Mapping[str, Any], output: str) -> Demo:
        return cls(tuple(sorted(inputs.items())), output)

    def input_dict(self) -> dict[str, Any]:
        return dict(self.inputs)


@dataclass(frozen=True)
class Prompt:
    """A candidate prompt.

    Attributes:
        system: The instruction text (Persona, Context, Steps, Format, ...).
        user_template: The user message, with ``{field}`` placeholders for case inputs.
        demos: Few-shot examples, rendered as user/assistant turns before the case.
        answer_strategy: How the prompt is run on one case (``direct``, ``step_by_step``,
            ``reflexion``); not to be confused with the search's searchers.
        instruction_position: ``system`` puts the instruction in a system message;
            ``user`` prepends it to every user message (small models often follow that
            better).
        temperature: The sampling temperature the prompt was tuned with; None leaves
            it to the caller.
        calibration: For a label task, each label's log mean probability under this
            prompt: answers are read from the labels' probabilities divided by it (see
            :mod:`autotune.evaluate.calibration`); empty reads the answer as written.
        name: A label for reports; not part of identity.
    """

    system: str
    user_template: str = DEFAULT_USER_TEMPLATE
    demos: tuple[Demo, ...] = ()
    answer_strategy: str = "direct"
    instruction_position: InstructionPosition = "system"
    temperature: float | None = None
    calibration: tuple[tuple[str, float], ...] = ()
    name: str = dataclasses.field(default="", compare=False)

    def fields(self) -> set[str]:
        """Placeholder names the user template needs."""
        return template_fields(self.user_template)

    def render_user(self, inputs: Mapping[str, Any]) -> str:
        """The user message for one case's inputs (without the instruction)."""
        return fill_template(self.user_template, inputs)

    def render(self, inputs: Mapping[str, Any]) -> list[Message]:
        """Chat messages for one case: instruction, demos, then the case."""
        messages: list[Message] = []
        in_system = self.instruction_position == "system" and self.system.strip()
        if in_system:
            messages.append(Message("system", self.system))
        turns = [(demo.input_dict(), demo.output) for demo in self.demos]
        for index, (demo_inputs, output) in enumerate(turns):
            text = self.render_user(demo_inputs)
            if not in_system and index == 0 and self.system.strip():
                text = f"{self.system}\n\n{text}"
            messages.append(Message("user", text))
            messages.append(Message("assistant", output))
        text = self.render_user(inputs)
        if not in_system and not turns and self.system.strip():
            text = f"{self.system}\n\n{text}"
        messages.append(Message("user", text))
        return messages

    def with_(self, **changes: Any) -> Prompt:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def fingerprint(self) -> str:
        """A short stable hash of everything that changes the model's input."""
        parts = [
            self.system,
            self.user_template,
            repr(self.demos),
            self.answer_strategy,
            self.instruction_position,
            repr(self.temperature),
            *([repr(self.calibration)] if self.calibration else []),  # old hashes stay
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """A JSON/TOML-friendly form, read back by :func:`Prompt.from_dict`."""
        return {
            "name": self.name,
            "system": self.system,
            "user_template": self.user_template,
            "answer_strategy": self.answer_strategy,
            "instruction_position": self.instruction_position,
            **({} if self.temperature is None else {"temperature": self.temperature}),
            **({"calibration": dict(self.calibration)} if self.calibration else {}),
            "demos": [{"inputs": d.input_dict(), "output": d.output} for d in self.demos],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prompt:
        """Build from :meth:`to_dict` output; unknown keys raise ``KeyError``/``TypeError``."""
        demos = tuple(Demo.of(d["inputs"], str(d["output"])) for d in data.get("demos", []))
        return cls(
            system=str(data.get("system", "")),
            user_template=str(data.get("user_template", DEFAULT_USER_TEMPLATE)),
            demos=demos,
            answer_strategy=str(data.get("answer_strategy", data.get("strategy", "direct"))),
            instruction_position=data.get("instruction_position", "system"),
            temperature=None if data.get("temperature") is None else float(data["temperature"]),
            calibration=tuple(
                (str(label), float(bias)) for label, bias in data.get("calibration", {}).items()
            ),
            name=str(data.get("name", "")),
        )
