"""The embedded SmolLM2: in-process, and behind the real OpenAI-compatible server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pytest
from llm_http_doubles import CountingProxy

from autotune.errors import LLMError
from autotune.llm import Message, SamplingParams, load_llm
from autotune.llm.embedded import LlamaCppLLM, load_llama
from autotune.llm.grammar import choice_grammar
from autotune.llm.server import LocalServer
from autotune.metrics.match import CannotEqual

QUESTION = [Message("user", "Name one colour.")]
SHORT = SamplingParams(max_tokens=8)


def test_unloadable_gguf_is_an_llm_error_naming_the_path(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF but not really" * 10)
    llm = LlamaCppLLM(bogus)
    with pytest.raises(LLMError, match=str(bogus)):
        llm.execute(QUESTION, SHORT)


def test_missing_gguf_is_an_llm_error(tmp_path: Path) -> None:
    with pytest.raises(LLMError, match="not found"):
        LlamaCppLLM(tmp_path / "absent.gguf")


@pytest.mark.embedded
def test_embedded_call_returns_text_and_usage(embedded_gguf_path: Path) -> None:
    llm = LlamaCppLLM(n_ctx=512)
    assert llm.model_path == embedded_gguf_path
    completion = llm.execute(QUESTION, SHORT)
    assert completion.text.strip()
    assert completion.prompt_tokens > 0
    assert 0 < completion.completion_tokens <= 8
    assert completion.finish_reason in {"stop", "length"}
    # Loaded once per process: a second backend object shares the same model.
    assert LlamaCppLLM(n_ctx=512).llama is llm.llama is load_llama(embedded_gguf_path, 512, None)
    # Greedy decoding is deterministic.
    assert llm.execute(QUESTION, SHORT).text == completion.text


@pytest.mark.embedded
def test_served_model_answers_through_openai_backend(local_server: LocalServer) -> None:
    assert local_server.model == "smollm2"
    llm = load_llm(f"openai:smollm2@{local_server.base_url}", no_cache=True)
    completion = llm.execute(QUESTION, SHORT)
    assert completion.text.strip()
    assert completion.completion_tokens > 0


@pytest.mark.embedded
def test_cache_replay_sends_zero_requests_to_the_server(
    counting_proxy: CountingProxy, tmp_path: Path
) -> None:
    questions = [[Message("user", f"Say the number {n}.")] for n in range(3)]

    def run() -> list[tuple[str, bool]]:
        llm = load_llm(
            f"openai:smollm2@{counting_proxy.base_url}", cache_path=tmp_path / "c.sqlite"
        )
        try:
            return [(c.text, c.cached) for c in (llm.execute(q, SHORT) for q in questions)]
        finally:
            llm.close()

    first = run()
    assert counting_proxy.chat_requests == 3
    assert not any(cached for _, cached in first)
    replay = run()
    assert counting_proxy.chat_requests == 3  # nothing reached the model
    assert [text for text, _ in replay] == [text for text, _ in first]
    assert all(cached for _, cached in replay)


@pytest.mark.embedded
def test_a_response_schema_constrains_the_embedded_answer() -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]}},
        "required": ["colour"],
    }
    params = SamplingParams(max_tokens=24, response_schema=json.dumps(schema))
    completion = LlamaCppLLM(n_ctx=512).execute(QUESTION, params)
    assert json.loads(completion.text)["colour"] in {"red", "green", "blue"}


@pytest.mark.embedded
def test_a_grammar_holds_the_embedded_answer_to_its_shape() -> None:
    grammar = 'root ::= "Colour: " ("red" | "green" | "blue") "."'
    params = SamplingParams(max_tokens=12, grammar=grammar, temperature=0.7, seed=1)
    completion = LlamaCppLLM(n_ctx=512).execute(QUESTION, params)
    assert completion.text in {"Colour: red.", "Colour: green.", "Colour: blue."}


@pytest.mark.embedded
def test_a_choice_grammar_holds_the_embedded_answer_to_one_choice() -> None:
    # Quotes, a backslash, control characters and non-ASCII text must reach llama.cpp
    # escaped: it aborts the process on a grammar it cannot parse.
    choices = ['say "hi"', "back\\slash", "two\nlines", "bell\x07", "Sci/Tech", "naïve"]
    params = SamplingParams(max_tokens=12, grammar=choice_grammar(choices), temperature=1.0)
    llm = LlamaCppLLM(n_ctx=512)
    answers = {llm.execute(QUESTION, params.with_(seed=seed)).text for seed in range(4)}
    assert answers <= set(choices)


@pytest.mark.embedded
def test_choice_logprobs_are_the_models_first_token_probabilities() -> None:
    labels = ("positive", "negative")
    params = SamplingParams(max_tokens=4, grammar=choice_grammar(labels), choices=labels)
    texts = ["A moving, wonderful film.", "A dull and boring mess."]
    system = "Classify the sentiment of the review as positive or negative."
    asks = [[Message("system", system), Message("user", f"Input: {t}\nAnswer:")] for t in texts]
    llm = LlamaCppLLM(n_ctx=512)
    batched = llm.execute_many([(messages, params) for messages in asks])
    alone = llm.execute(asks[0], params)
    llama = load_llama(llm.model_path, 512, None)
    for messages, outcome in zip(asks, batched, strict=True):
        assert not isinstance(outcome, Exception) and outcome.choice_logprobs is not None
        expected = _first_token_logprobs(llama, messages, labels)
        # A context of several streams sums in another order than the model's own.
        assert outcome.choice_logprobs == pytest.approx(expected, abs=0.1)
        assert outcome.text == labels[int(np.argmax(outcome.choice_logprobs))]
    assert alone.choice_logprobs == pytest.approx(batched[0].choice_logprobs, abs=0.1)
    assert llm.execute(asks[0], params.with_(choices=())).choice_logprobs is None


def _first_token_logprobs(
    llama: Any, messages: list[Message], labels: tuple[str, ...]
) -> list[float]:
    """What llama-cpp-python's own context gives: the log-softmax at each label's first
    token after the chat template's assistant header."""
    template = jinja2.Template(llama.metadata["tokenizer.chat_template"])
    text = template.render(messages=[m.to_dict() for m in messages], add_generation_prompt=True)
    llama.reset()
    llama.eval(llama.tokenize(text.encode(), add_bos=False, special=True))
    import llama_cpp

    logits = np.ctypeslib.as_array(
        llama_cpp.llama_get_logits_ith(llama.ctx, -1), (llama.n_vocab(),)
    )
    logits = logits.astype(np.float64)
    logits -= logits.max()
    total = np.log(np.exp(logits).sum())
    firsts = [llama.tokenize(label.encode(), add_bos=False, special=False)[0] for label in labels]
    return [float(logits[token] - total) for token in firsts]


def test_a_real_server_reports_choice_logprobs_like_the_embedded_model(
    local_server: LocalServer,
) -> None:
    labels = ("positive", "negative")
    system = "Classify the sentiment of the review as positive or negative."
    messages = [Message("system", system), Message("user", "Input: A wonderful film.\nAnswer:")]
    params = SamplingParams(max_tokens=4, choices=labels)
    served = load_llm(f"openai:smollm2@{local_server.base_url}", no_cache=True)
    over_http = served.execute(messages, params)
    streamed = served.execute(messages, params.with_(stop_rule=CannotEqual("x")))
    embedded = LlamaCppLLM(n_ctx=512).execute(messages, params)
    assert over_http.choice_logprobs is not None and embedded.choice_logprobs is not None
    # Another context (threads, batch) sums in another order: close, the same leader.
    assert over_http.choice_logprobs == pytest.approx(embedded.choice_logprobs, abs=0.3)
    assert np.argmax(over_http.choice_logprobs) == np.argmax(embedded.choice_logprobs)
    assert streamed.choice_logprobs == pytest.approx(over_http.choice_logprobs, abs=0.3)
