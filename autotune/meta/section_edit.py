"""Reflective section edits: the Meta-LLM rewrites ONE section from a prompt's mistakes.

Small edits are what a small Meta-LLM can still get right. Each section has a shape:
a Persona is one sentence starting "You are", Steps are up to three numbered lines, a
label task's Context gains one sentence saying what texts of a label are about (the
label the prompt misses most), and so on. On llama.cpp a GBNF grammar holds the answer
to that shape and a length cap; an OpenAI-compatible server gets a JSON schema (used
where it supports structured output) and the answer is parsed leniently. Every edit
then passes :func:`~autotune.meta.gates.check_edit` or is rejected with a reason.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from autotune.errors import BudgetExceeded, FatalLLMError, LLMError
from autotune.llm.base import BaseLLM
from autotune.llm.types import Message, SamplingParams
from autotune.meta._render import clip, render_template
from autotune.meta.brief import TaskBrief
from autotune.meta.gates import check_edit, vocabulary

_WORD_RULE = "word ::= [a-zA-Z'/-]+"
_SENTENCE = 'word ((",")? " " word){2,24} "."'
# A label's description stays short: long ones drift into one example's details.
_LABEL_SENTENCE = 'word ((",")? " " word){1,11} "."'
# A guide built of the label's own words: three to six of them, chosen by the Meta-LLM.
_KEYWORD_LIST = 'kw (", " kw){2,5} "."'
MIN_KEYWORDS = 3
GUIDE_ATTEMPTS = 2
_STEP = 'word (" " word){1,14} "."'
_STEPS = f'"1. " {_STEP} ("\\n2. " {_STEP} ("\\n3. " {_STEP})?)?'
MAX_EDIT_CHARS = 400


@dataclass(frozen=True)
class Mistake:
    """One failed case as the Meta-LLM is shown it."""

    input: str
    output: str
    expected: str
    reason: str


@dataclass(frozen=True)
class EditSpec:
    """The shape of one section's edit: what to ask, how the answer starts, its grammar."""

    title: str
    ask: str
    prefix: str
    body: str
    rules: str = ""


SPECS: dict[str, EditSpec] = {
    "persona": EditSpec(
        "Persona",
        "Write one sentence that says who the assistant should be.",
        "You are ",
        _SENTENCE,
    ),
    "context": EditSpec(
        "Context",
        "Write one sentence of background knowledge that would avoid these mistakes.",
        "Keep in mind that ",
        _SENTENCE,
    ),
    "steps": EditSpec(
        "Steps", "Write up to three short steps that would avoid these mistakes.", "", _STEPS
    ),
    "format": EditSpec(
        "Format",
        "Write one sentence saying exactly how to write the answer.",
        "Answer with ",
        _SENTENCE,
    ),
}


@dataclass
class EditResult:
    """A section edit, or why there is none."""

    text: str | None
    rejected: str = ""
    raw: str = ""
    calls: int = 0
    label: str | None = None


def guide_prefix(label: str) -> str:
    """How a label guide's sentence begins (and how it is found again in a Context)."""
    return f"{label} texts are about "


def _sentences(text: str) -> list[str]:
    return [sentence for sentence in re.split(r"(?<=[.!?])\s+", text.strip()) if sentence]


def _is_guide(sentence: str, labels: Sequence[str]) -> bool:
    return sentence.startswith(tuple(guide_prefix(label) for label in labels))


def without_guide(context: str, labels: Sequence[str]) -> str:
    """``context`` without its label-guide sentences (the rest kept as written)."""
    return " ".join(s for s in _sentences(context) if not _is_guide(s, labels))


def has_guide(context: str, labels: Sequence[str]) -> bool:
    """Whether a sentence of ``context`` says what the texts of some label are about."""
    return any(_is_guide(sentence, labels) for sentence in _sentences(context))


def named_labels(text: str, labels: Sequence[str]) -> list[str]:
    """The labels ``text`` names as whole words ("Sci/Tech" too), in ``labels`` order."""
    lowered = f" {re.sub(r'[^a-z0-9/]+', ' ', text.lower())} "
    return [label for label in labels if f" {label.lower()} " in lowered]


def _alludes(word: str, part: str) -> bool:
    """``word`` is ``part`` of a label or a form of it ("science" for "Sci", "sport"
    for "Sports"): one starts the other, and the shorter is most of the longer."""
    short, long = sorted((word, part), key=len)
    return (
        len(short) >= 3 and long.startswith(short) and len(short) >= min(len(part), len(long) - 3)
    )


def alluded_labels(text: str, labels: Sequence[str]) -> list[str]:
    """The labels ``text`` names or alludes to ("Science/Tech" for "Sci/Tech"), in
    ``labels`` order; looser than :func:`named_labels`, for the bias gate only."""
    named = set(named_labels(text, labels))
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [
        label
        for label in labels
        if label in named
        or any(_alludes(w, part) for part in re.findall(r"[a-z0-9]+", label.lower()) for w in words)
    ]


def _some_labels(prefix: str, text: str, labels: Sequence[str]) -> list[str]:
    """Outside a label guide's sentence: the labels named or alluded to, when some but
    not all are. Loose on purpose: a winner once kept "3. The right answer is
    Science/Tech." on AG News, which the whole-word test took for no label at all."""
    if any(prefix == guide_prefix(label) for label in labels):
        return []
    named = alluded_labels(text, labels)
    return named if 0 < len(named) < len(labels) else []


def _other_label(prefix: str, text: str, labels: Sequence[str]) -> str | None:
    """In a label guide's sentence (``prefix`` names its label), another label's name."""
    described = next((label for label in labels if prefix == guide_prefix(label)), None)
    if described is None:
        return None
    return next((label for label in named_labels(text, labels) if label != described), None)


def label_to_describe(mistakes: Sequence[Mistake], labels: Sequence[str], pick: int) -> str:
    """The expected label the prompt misses most (``pick`` breaks ties)."""
    counts = Counter(m.expected for m in mistakes if m.expected in labels)
    if not counts:
        return labels[pick % len(labels)]
    top = max(counts.values())
    tied = sorted(label for label, count in counts.items() if count == top)
    return tied[pick % len(tied)]


class SectionEditor:
    """Asks the Meta-LLM for one section edit at a time.

    Args:
        meta_llm: The Meta-LLM.
        temperature: Sampling temperature of edits (variety between samples).
        max_tokens: Cap of one edit's answer.
        seed: Sampling seed; ``sample_index`` makes repeated edits differ.
    """

    def __init__(
        self, meta_llm: BaseLLM, *, temperature: float = 0.7, max_tokens: int = 80, seed: int = 0
    ) -> None:
        self.meta_llm = meta_llm
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed

    def edit(
        self,
        section: str,
        current: str,
        mistakes: Sequence[Mistake],
        brief: TaskBrief,
        sample_index: int,
        labels: Sequence[str] = (),
    ) -> EditResult:
        """A new text for ``section`` (for a label task's Context: one label's sentence)."""
        spec, shown, label = SPECS[section], list(mistakes), None
        if section == "context" and labels:
            label = label_to_describe(mistakes, labels, sample_index)
            spec, shown = self._label_spec(label, mistakes, brief)
        result = self._gated(spec, current, shown, brief, sample_index, labels)
        result.label = label
        return result

    def _gated(
        self,
        spec: EditSpec,
        current: str,
        shown: Sequence[Mistake],
        brief: TaskBrief,
        sample_index: int,
        labels: Sequence[str],
    ) -> EditResult:
        """Ask, then reject chat debris and (but for a Persona) off-task text."""
        result = self._ask(spec, current, shown, brief, sample_index)
        if result.text is None:
            return result
        if spec.rules:  # a list of chosen words: a repeated word is dropped, not fatal
            result.text = _without_repeats(result.text, spec.prefix)
        continuation = result.text[len(spec.prefix) :] if spec.prefix else result.text
        guide_words = [word for words in brief.label_words.values() for word in words]
        words = vocabulary([brief.description, *labels, *(m.input for m in shown), *guide_words])
        persona = spec.prefix == SPECS["persona"].prefix
        # Two chosen words are already a guide ("about profit, earnings.").
        shortest = 2 if spec.rules else 3
        verdict = check_edit(continuation, None if persona else words, min_words=shortest)
        if not verdict.ok:
            result.rejected, result.text = verdict.reason, None
        elif other := _other_label(spec.prefix, continuation, labels):
            # "Sci/Tech texts are about sports": a label described by another one
            # contradicts the task and teaches the model to confuse the two.
            result.rejected, result.text = f"names another label ({other!r})", None
        elif some := _some_labels(spec.prefix, continuation, labels):
            # "3. Answer with a label of negative.": naming some labels but not all
            # pushes a small model toward them whatever the input says.
            result.rejected, result.text = f"names only some labels ({', '.join(some)})", None
        return result

    def _label_spec(
        self, label: str, mistakes: Sequence[Mistake], brief: TaskBrief
    ) -> tuple[EditSpec, list[Mistake]]:
        shown = [m for m in mistakes if m.expected == label][:3]
        for case in brief.train_cases:
            if len(shown) >= 3:
                break
            if str(case.expected) == label:
                text = " ".join(str(v) for v in case.inputs.values())
                shown.append(Mistake(text, "", label, ""))
        ask = (
            f'These texts should be labelled "{label}". '
            f'Complete the sentence saying what "{label}" texts are about'
        )
        words = brief.label_words.get(label, ())
        if len(words) < MIN_KEYWORDS:
            return EditSpec("Context", ask + ".", guide_prefix(label), _LABEL_SENTENCE), shown
        ask += f", with three to six of these words: {', '.join(words)}."
        rules = "kw ::= " + " | ".join(json.dumps(word) for word in words)
        return EditSpec("Context", ask, guide_prefix(label), _KEYWORD_LIST, rules), shown

    def label_guide(
        self,
        labels: Sequence[str],
        mistakes: Sequence[Mistake],
        brief: TaskBrief,
        sample_index: int,
    ) -> EditResult:
        """One sentence per label saying what its texts are about, all of them gated.

        A guide for every label at once keeps the prompt balanced (a sentence about one
        label alone pulls a small model toward it); a label whose sentence fails the
        gates is asked again once, and the guide is rejected if one still fails.
        """
        sentences: list[str] = []
        raws: list[str] = []
        calls = 0
        for offset, label in enumerate(labels):
            for attempt in range(GUIDE_ATTEMPTS):
                index = (sample_index * len(labels) + offset) * GUIDE_ATTEMPTS + attempt
                spec, shown = self._label_spec(label, mistakes, brief)
                result = self._gated(spec, "", shown, brief, index, labels)
                calls += result.calls
                raws.append(result.raw)
                if result.text is not None:
                    sentences.append(result.text)
                    break
            else:
                reason = f"the sentence about {label!r}: {result.rejected}"
                return EditResult(None, reason, raw="\n".join(raws), calls=calls)
        return EditResult(" ".join(sentences), raw="\n".join(raws), calls=calls)

    def _ask(
        self,
        spec: EditSpec,
        current: str,
        mistakes: Sequence[Mistake],
        brief: TaskBrief,
        sample_index: int,
    ) -> EditResult:
        text = render_template(
            "section_edit.md",
            task=brief.description,
            current=f'The current {spec.title}: "{clip(current)}"\n' if current.strip() else "",
            mistakes=_mistakes_block(mistakes),
            ask=spec.ask,
        )
        params = SamplingParams(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
            sample_index=sample_index,
            grammar=f'root ::= "{spec.prefix}" {spec.body}\n{_WORD_RULE}\n{spec.rules}'.strip(),
            response_schema=_SCHEMA,
        )
        try:
            raw = self.meta_llm.execute([Message("user", text)], params).text
        except (BudgetExceeded, FatalLLMError):
            raise
        except LLMError as exc:
            return EditResult(None, f"meta-LLM call failed: {exc}", calls=1)
        parsed = parse_edit(raw, spec.prefix)
        if parsed is None:
            return EditResult(None, "no usable text in the answer", raw=raw, calls=1)
        return EditResult(parsed, raw=raw, calls=1)


_SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {"text": {"type": "string", "maxLength": MAX_EDIT_CHARS}},
        "required": ["text"],
    }
)


def _mistakes_block(mistakes: Sequence[Mistake]) -> str:
    lines = []
    for m in mistakes[:3]:
        if m.output:
            lines.append(
                f"- Input: {clip(m.input, 200)}\n  The model answered: {clip(m.output, 80)}\n"
                f"  The right answer: {clip(m.expected, 80)}"
            )
        else:
            lines.append(f"- {clip(m.input, 200)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _without_repeats(text: str, prefix: str) -> str:
    """A chosen-word list ("about war, police, war.") with each word once."""
    items = [item.strip(" .") for item in text[len(prefix) :].split(",")]
    unique = list(dict.fromkeys(item for item in items if item))
    return f"{prefix}{', '.join(unique)}."


def parse_edit(raw: str, prefix: str) -> str | None:
    """The edit's text from a grammar-shaped answer, a JSON object or free text.

    Free text keeps its first paragraph, cut at ``MAX_EDIT_CHARS``; a missing prefix is
    added back (so "a careful critic." becomes "You are a careful critic.").
    """
    text = raw.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text).get("text")
        except (ValueError, AttributeError):
            value = None
        text = value.strip() if isinstance(value, str) else ""
    text = re.split(r"\n\s*\n", text, maxsplit=1)[0].strip().strip('"').strip()
    if not text:
        return None
    if prefix and not text.lower().startswith(prefix.lower().strip()):
        text = prefix + text[0].lower() + text[1:]
    return text[:MAX_EDIT_CHARS]
