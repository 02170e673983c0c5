"""Decided-answer early stop on the real backends: the embedded model stops decoding,
and the OpenAI-compatible backend hangs up its stream, once the stop rule is decided."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import pytest
from llm_http_doubles import Act, FaultServer

from autotune.llm import Completion, Message, SamplingParams, load_llm
from autotune.llm.embedded import LlamaCppLLM
from autotune.llm.server import LocalServer
from autotune.llm.stop import StopRule

# A request SmolLM2 answers with a long sentence that names a sentiment word early.
RAMBLE = [
    Message("system", "Classify the sentiment of the text."),
    Message("user", "a gorgeous, witty, seductive movie."),
]
GREEDY = SamplingParams(temperature=0.0, max_tokens=40, seed=0)


@dataclass(frozen=True)
class AfterWords(StopRule):
    """Decided once the text has ``n`` complete words (a word and a space after it)."""

    kind: ClassVar[str] = "test_after_words"
    n: int

    def decided(self, text: str) -> bool:
        return len(text.split(" ")) > self.n


@dataclass(frozen=True)
class Never(StopRule):
    kind: ClassVar[str] = "test_never"

    def decided(self, text: str) -> bool:
        return False


def _check_cut(full: Completion, cut: Completion, rule: StopRule) -> None:
    assert full.completion_tokens > cut.completion_tokens > 0
    assert full.text.startswith(cut.text)
    assert rule.decided(cut.text)
    # Decided at the first token where it could be: one token less is not decided.
    assert not rule.decided(cut.text.rsplit(" ", 1)[0])
    assert cut.finish_reason == "stop"


@pytest.mark.embedded
def test_embedded_generation_stops_where_the_rule_decides() -> None:
    llm = LlamaCppLLM(n_ctx=512)
    rule = AfterWords(4)
    llm.llama.reset()  # same starting state for both calls: prefix reuse moves last bits
    full = llm.execute(RAMBLE, GREEDY)
    llm.llama.reset()
    cut = llm.execute(RAMBLE, GREEDY.with_(stop_rule=rule))
    assert len(full.text.split(" ")) > 5
    _check_cut(full, cut, rule)
    assert cut.prompt_tokens == full.prompt_tokens


@pytest.mark.embedded
def test_embedded_rule_that_never_decides_changes_nothing() -> None:
    llm = LlamaCppLLM(n_ctx=512)
    for temperature in (0.0, 0.8):
        params = GREEDY.with_(temperature=temperature, seed=7)
        llm.llama.reset()
        plain = llm.execute(RAMBLE, params)
        llm.llama.reset()
        ruled = llm.execute(RAMBLE, params.with_(stop_rule=Never()))
        assert (ruled.text, ruled.completion_tokens, ruled.finish_reason) == (
            plain.text,
            plain.completion_tokens,
            plain.finish_reason,
        )


@pytest.mark.embedded
def test_openai_backend_hangs_up_the_stream_once_decided(local_server: LocalServer) -> None:
    llm = load_llm(f"openai:smollm2@{local_server.base_url}", no_cache=True)
    rule = AfterWords(4)
    full = llm.execute(RAMBLE, GREEDY)
    cut = llm.execute(RAMBLE, GREEDY.with_(stop_rule=rule))
    _check_cut(full, cut, rule)
    assert asyncio.run(llm.aexecute(RAMBLE, GREEDY.with_(stop_rule=rule))).text == cut.text
    streamed = llm.execute(RAMBLE, GREEDY.with_(stop_rule=Never()))
    assert streamed.text == full.text
    assert streamed.completion_tokens == full.completion_tokens


def test_server_that_ignores_streaming_still_answers(fault_server: FaultServer) -> None:
    fault_server.play(Act("ok", text="positive, and more words"))
    llm = load_llm(f"openai:m@{fault_server.base_url}", no_cache=True)
    completion = llm.execute(RAMBLE, GREEDY.with_(stop_rule=AfterWords(1)))
    assert completion.text == "positive, and more words"
    assert fault_server.requests[-1].body["stream"] is True
