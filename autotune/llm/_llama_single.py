"""One request at a time on the embedded model's own llama.cpp context.

Without a stop rule this is ``create_chat_completion``, unchanged. With one, it takes
the same steps that method takes (render the model's chat template, then
``create_completion`` with the same arguments) and adds a stopping criterion that ends
generation once the rule says the answer is decided.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from autotune.llm._chat_render import ChatRenderer
from autotune.llm._threads import ThreadTuner
from autotune.llm.types import Completion, Message, SamplingParams


def single_completion(
    llama: Any,
    renderer: ChatRenderer | None,
    tuner: ThreadTuner,
    messages: Sequence[Message],
    params: SamplingParams,
    seed: int,
) -> dict[str, Any]:
    """One request on the model's own context, its prompt evaluated at the thread count
    the tuner finds fastest (and timed for it). With a stop rule (and the model's own
    chat template) generation ends once the answer is decided.

    Raises:
        ValueError: llama-cpp-python's, e.g. for a prompt longer than the context.
    """
    import llama_cpp

    threads = tuner.choose(64)
    llama_cpp.llama_set_n_threads(llama.ctx, llama.n_threads, threads)
    llama_cpp.llama_perf_context_reset(llama.ctx)
    try:
        if params.stop_rule is None or renderer is None or params.response_schema is not None:
            # A JSON schema goes through the chat handler, which makes its grammar.
            return _chat_completion(llama, messages, params, seed)
        return _ruled_completion(llama, renderer, messages, params, seed)
    finally:
        perf = llama_cpp.llama_perf_context(llama.ctx)
        tuner.record(int(perf.n_p_eval), threads, float(perf.t_p_eval_ms) / 1000)


def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar  # holds the text; llama.cpp parses it when sampling

    return LlamaGrammar.from_string(text, verbose=False)


def _chat_completion(
    llama: Any, messages: Sequence[Message], params: SamplingParams, seed: int
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if params.grammar is not None:
        extra["grammar"] = _grammar(params.grammar)
    elif params.response_schema is not None:
        schema = json.loads(params.response_schema)
        extra["response_format"] = {"type": "json_object", "schema": schema}
    response: dict[str, Any] = llama.create_chat_completion(
        messages=[m.to_dict() for m in messages],
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_tokens,
        stop=list(params.stop) or None,
        seed=seed,
        **extra,
    )
    return response


def _ruled_completion(
    llama: Any,
    renderer: ChatRenderer,
    messages: Sequence[Message],
    params: SamplingParams,
    seed: int,
) -> dict[str, Any]:
    """``create_chat_completion``'s own steps (render, then ``create_completion`` with the
    same arguments), plus a stopping criterion that ends generation once the request's
    stop rule says the answer is decided."""
    from llama_cpp import StoppingCriteriaList

    assert params.stop_rule is not None
    rendered = renderer.render(messages, params.stop)
    decided = _DecidedCriterion(llama, len(rendered.tokens), params.stop_rule.decided)
    criteria = [c for c in (rendered.stopping_criteria, decided) if c is not None]
    response: dict[str, Any] = llama.create_completion(
        prompt=list(rendered.tokens),
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=40,
        min_p=0.05,
        typical_p=1.0,
        stop=list(rendered.stop),
        seed=seed,
        max_tokens=params.max_tokens,
        repeat_penalty=1.0,
        stopping_criteria=StoppingCriteriaList(criteria),
        grammar=None if params.grammar is None else _grammar(params.grammar),
    )
    return response


class _DecidedCriterion:
    """A llama-cpp-python stopping criterion around a stop rule.

    llama-cpp-python calls it with the tokens evaluated so far, before handing out the
    token just sampled; when the text generated so far is decided, that token is
    dropped and the answer is exactly the text the rule judged.
    """

    def __init__(self, llama: Any, n_prompt: int, decided: Callable[[str], bool]) -> None:
        self.llama = llama
        self.n_prompt = n_prompt
        self.decided = decided

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        generated = [int(token) for token in input_ids[self.n_prompt :]]
        try:  # a character cut between tokens is judged once it is complete
            text = self.llama.detokenize(generated, prev_tokens=None).decode("utf-8")
        except UnicodeDecodeError:
            return False
        return self.decided(text)


def to_completion(response: dict[str, Any], model_id: str, latency_s: float) -> Completion:
    choice = response["choices"][0]
    message = choice.get("message")
    text = message["content"] if message is not None else choice.get("text")
    usage = response.get("usage") or {}
    return Completion(
        text=text or "",
        finish_reason=choice.get("finish_reason") or "stop",
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        latency_s=latency_s,
        model=model_id,
    )
