"""Model strings → models (load_llm), and the scripted fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotune.errors import BudgetExceeded, ConfigError, LLMError
from autotune.llm import (
    BACKENDS,
    BackendOptions,
    BaseLLM,
    Budget,
    CachedLLM,
    Message,
    MeteredLLM,
    SamplingParams,
    ScriptedLLM,
    UsageMeter,
    load_llm,
    parse_model_spec,
)
from autotune.llm.openai_compat import OpenAICompatLLM


def innermost(llm: BaseLLM) -> BaseLLM:
    while hasattr(llm, "inner"):
        llm = llm.inner
    return llm


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("smollm2", ("smollm2", "")),
        ("local", ("local", "")),
        (" fake ", ("fake", "")),
        ("gguf:/models/x.gguf", ("gguf", "/models/x.gguf")),
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("openai:m@http://h:1/v1", ("openai", "m@http://h:1/v1")),
    ],
)
def test_parse_model_spec(spec: str, expected: tuple[str, str]) -> None:
    assert parse_model_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "empty"),
        ("gpt-4o", "unknown backend 'gpt-4o'"),
        ("anthropic:claude", "unknown backend 'anthropic'"),
        ("gguf:", "needs a file path"),
        ("openai:", "needs a model name"),
        ("openai:@http://127.0.0.1:9/v1", "needs a model name"),
        ("smollm2:big", "takes no argument"),
        ("fake:x", "takes no argument"),
    ],
)
def test_bad_model_strings_name_the_model_field(spec: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_llm(spec, no_cache=True)
    assert caught.value.field == "model"
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_gguf_file_is_an_llm_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(LLMError, match=str(missing)):
        load_llm(f"gguf:{missing}", no_cache=True)


def test_openai_inline_url_and_options(tmp_path: Path) -> None:
    llm = load_llm(
        "openai:my-model@http://127.0.0.1:9/v1",
        cache_path=tmp_path / "c.sqlite",
        timeout_s=3,
        max_retries=1,
    )
    assert isinstance(llm, MeteredLLM) and isinstance(llm.inner, CachedLLM)
    backend = innermost(llm)
    assert isinstance(backend, OpenAICompatLLM)
    assert (backend.model_id, backend.base_url) == ("my-model", "http://127.0.0.1:9/v1")
    assert (backend.timeout_s, backend.max_retries) == (3, 1)
    assert llm.name == "openai:my-model"


def test_openai_base_url_from_option_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:7/v1")
    from_env = innermost(load_llm("openai:m", no_cache=True))
    from_option = innermost(load_llm("openai:m", base_url="http://127.0.0.1:8/v1", no_cache=True))
    assert isinstance(from_env, OpenAICompatLLM) and isinstance(from_option, OpenAICompatLLM)
    assert from_env.base_url == "http://127.0.0.1:7/v1"
    assert from_option.base_url == "http://127.0.0.1:8/v1"


def test_openai_without_key_for_the_real_api_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        load_llm("openai:gpt-4o-mini", no_cache=True)


def test_default_cache_lives_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    llm = load_llm("openai:m@http://127.0.0.1:9/v1")
    assert isinstance(llm.inner, CachedLLM)
    assert llm.inner.store.path == tmp_path / ".autotune-cache" / "responses.sqlite"


def test_fake_echoes_and_is_not_cached_unless_asked(tmp_path: Path) -> None:
    llm = load_llm("fake")
    assert not isinstance(llm.inner, CachedLLM)
    assert llm.execute([Message("user", "ping")], SamplingParams()).text == "ping"
    cached = load_llm("fake", cache_path=tmp_path / "c.sqlite")
    assert isinstance(cached.inner, CachedLLM)


def test_meter_and_budget_are_applied(tmp_path: Path) -> None:
    meter = UsageMeter()
    llm = load_llm("fake", meter=meter, budget=Budget(max_calls=1))
    llm.execute([Message("user", "a")], SamplingParams())
    assert meter.snapshot().calls == 1
    with pytest.raises(BudgetExceeded, match="budget reached"):
        llm.execute([Message("user", "b")], SamplingParams())


def test_plugin_backend_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, BackendOptions]] = []

    def factory(argument: str, options: BackendOptions) -> BaseLLM:
        seen.append((argument, options))
        return ScriptedLLM([f"plugin {argument}"], model_id=argument)

    monkeypatch.setitem(BACKENDS, "mine", factory)
    llm = load_llm("mine:v2", no_cache=True, n_ctx=512)
    assert llm.execute([Message("user", "x")], SamplingParams()).text == "plugin v2"
    assert seen[0][0] == "v2" and seen[0][1].n_ctx == 512


def test_scripted_llm_cycles_records_and_fails_on_request() -> None:
    llm = ScriptedLLM(["a", "b"], fail_on=lambda m: m[-1].content == "boom", error=ValueError("x"))
    texts = [llm.complete([Message("user", str(i))]).text for i in range(3)]
    assert texts == ["a", "b", "a"]
    assert llm.calls == 3 and llm.requests[1][0] == [Message("user", "1")]
    with pytest.raises(ValueError):
        llm.complete([Message("user", "boom")])
    echo = ScriptedLLM(lambda m, p: f"{m[-1].content}@{p.temperature}")
    assert echo.execute([Message("user", "q")], SamplingParams(temperature=0.5)).text == "q@0.5"
