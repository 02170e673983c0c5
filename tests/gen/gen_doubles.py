"""A scripted model that answers generation and review requests of ``synth`` differently."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from autotune.gen._review import OFF_TASK_CONTROLS
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams


def is_review(text: str) -> bool:
    return text.startswith("You review")


def reviewed_message(request: str) -> str:
    """The message a review request asks about."""
    return request.split("Message: ", 1)[1].split("\n", 1)[0]


def capable(decide: Callable[[str], str] = lambda message: "KEEP") -> Callable[[str], str]:
    """A judge that discards the off-task controls and ``decide``s on every other message
    (so it passes calibration when ``decide`` keeps the on-task control)."""

    def judge(request: str) -> str:
        message = reviewed_message(request)
        return "DISCARD: off task" if message in OFF_TASK_CONTROLS else decide(message)

    return judge


def synth_llm(
    replies: Sequence[str] | Iterator[str], judge: Callable[[str], str] | None = None
) -> ScriptedLLM:
    """Generation requests get the next reply (the last one repeats); review requests get
    ``judge(request text)`` (default: a capable judge that keeps every case)."""
    pending = list(replies)
    decide = judge or capable()

    def reply(messages: Sequence[Message], params: SamplingParams) -> str:
        text = messages[-1].content
        if is_review(text):
            return decide(text)
        return pending.pop(0) if len(pending) > 1 else pending[0]

    return ScriptedLLM(reply)


def generation_requests(llm: ScriptedLLM) -> list[tuple[list[Message], SamplingParams]]:
    return [(m, p) for m, p in llm.requests if not is_review(m[-1].content)]


def review_requests(llm: ScriptedLLM) -> list[str]:
    return [m[-1].content for m, _ in llm.requests if is_review(m[-1].content)]
