"""A scripted model that answers generation and review requests of ``synth`` differently."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams


def synth_llm(
    batches: Sequence[str] | Iterator[str],
    judge: Callable[[str], str] = lambda text: "KEEP",
) -> ScriptedLLM:
    """Generation requests get the next batch (the last one repeats); review requests get
    ``judge(request text)``."""
    pending = list(batches)

    def reply(messages: Sequence[Message], params: SamplingParams) -> str:
        text = messages[-1].content
        if text.startswith("You review"):
            return judge(text)
        return pending.pop(0) if len(pending) > 1 else pending[0]

    return ScriptedLLM(reply)


def generation_requests(llm: ScriptedLLM) -> list[tuple[str, SamplingParams]]:
    return [(m[-1].content, p) for m, p in llm.requests if m[-1].content.startswith("You write")]
