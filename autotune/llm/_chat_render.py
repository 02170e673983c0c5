"""Chat messages -> prompt tokens, exactly as ``Llama.create_chat_completion`` does it.

llama-cpp-python renders a GGUF's own chat template (``tokenizer.chat_template``) with
its ``Jinja2ChatFormatter`` and tokenizes the result. Doing the same here lets the
embedded backend drive generation itself (early stop, batches of sequences) and still
send the model the very tokens ``create_chat_completion`` would. Models whose chat
format llama-cpp-python picks otherwise (a named built-in format, a custom handler)
get no renderer: callers then use ``create_chat_completion`` unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autotune.llm.types import Message

# The format name llama-cpp-python gives a GGUF's own template (llama.py, Llama.__init__).
_OWN_TEMPLATE = "chat_template.default"


@dataclass(frozen=True)
class RenderedPrompt:
    """What ``create_chat_completion`` hands to ``create_completion`` for one request."""

    tokens: tuple[int, ...]
    stop: tuple[str, ...]
    stopping_criteria: Any


class ChatRenderer:
    """Renders messages with the model's own chat template; see :func:`chat_renderer`."""

    def __init__(self, llama: Any) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        eos_id, bos_id = llama.token_eos(), llama.token_bos()
        self._llama = llama
        self._formatter = Jinja2ChatFormatter(
            template=llama.metadata["tokenizer.chat_template"],
            eos_token=_token_text(llama_cpp, vocab, eos_id),
            bos_token=_token_text(llama_cpp, vocab, bos_id),
            stop_token_ids=[eos_id],
        )

    def render(self, messages: Sequence[Message], stop: Sequence[str] = ()) -> RenderedPrompt:
        """Prompt tokens, stop strings (the request's, then the template's) and the
        template's stopping criteria, in the order the chat handler builds them."""
        result = self._formatter(messages=[m.to_dict() for m in messages])
        tokens = self._llama.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        template_stop = result.stop if isinstance(result.stop, list) else [result.stop]
        return RenderedPrompt(
            tokens=tuple(tokens),
            stop=(*stop, *(s for s in template_stop if s is not None)),
            stopping_criteria=result.stopping_criteria,
        )


def chat_renderer(llama: Any) -> ChatRenderer | None:
    """A renderer for ``llama``, or None when it does not use its GGUF's own template."""
    if getattr(llama, "chat_handler", None) is not None:
        return None
    if getattr(llama, "chat_format", None) != _OWN_TEMPLATE:
        return None
    if "tokenizer.chat_template" not in getattr(llama, "metadata", {}):
        return None
    return ChatRenderer(llama)


def _token_text(llama_cpp: Any, vocab: Any, token: int) -> str:
    if token == -1:
        return ""
    return str(llama_cpp.llama_vocab_get_text(vocab, token).decode("utf-8"))
