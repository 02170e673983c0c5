"""The LLM layer: one model interface, its backends, a response cache and accounting.

Build models from model strings with :func:`load_llm`::

    from autotune.llm import load_llm, user
    llm = load_llm("smollm2")
    print(llm.complete([user("Say hi")]).text)
"""

from autotune.llm.accounting import Budget, MeteredLLM, Usage, UsageMeter, price_usd
from autotune.llm.base import BaseLLM, LLMWrapper
from autotune.llm.cache import CachedLLM, ResponseStore, cache_key
from autotune.llm.fake import ScriptedLLM
from autotune.llm.registry import (
    BACKENDS,
    BackendOptions,
    load_llm,
    parse_model_spec,
    register_backend,
)
from autotune.llm.types import Completion, Message, Messages, SamplingParams, system, user

__all__ = [
    "BACKENDS",
    "BackendOptions",
    "BaseLLM",
    "Budget",
    "CachedLLM",
    "Completion",
    "LLMWrapper",
    "Message",
    "Messages",
    "MeteredLLM",
    "ResponseStore",
    "SamplingParams",
    "ScriptedLLM",
    "Usage",
    "UsageMeter",
    "cache_key",
    "load_llm",
    "parse_model_spec",
    "price_usd",
    "register_backend",
    "system",
    "user",
]
