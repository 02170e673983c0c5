"""Data goes only where the user said; credentials and keys are never shown or stored."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from fault_suite import PASSWORD, PLANTED_KEY, error_lines
from hypothesis import given, settings
from hypothesis import strategies as st
from llm_http_doubles import Act, FaultServer

from autotune.cli.main import main
from autotune.errors import ConfigError
from autotune.llm import load_llm, parse_model_spec
from autotune.llm.urls import check_base_url, redact_urls


@pytest.mark.parametrize(
    "spec",
    [
        "openai:m@127.0.0.1:8080/v1",  # no scheme
        "openai:m@ http://127.0.0.1:8080/v1",  # a space
        "openai:m@http//127.0.0.1:8080/v1",  # no colon
        "openai:m@ftp://127.0.0.1/v1",  # another scheme
        "openai:m@http://",  # no host
        "openai:m@http://127.0.0.1:80x/v1",  # bad port
        "openai:m@http://127.0.0.1:8080/v1?x=1",  # a query
        "openai:m@",  # nothing after the @
        "openai:claude@2024",  # an @ that starts no URL
    ],
)
def test_malformed_url_is_an_error_never_a_model_name(spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_llm(spec, no_cache=True)
    assert caught.value.field == "model"
    with pytest.raises(ConfigError):
        parse_model_spec(spec)  # experiment files fail at load, naming file and line


def test_url_typo_on_the_cli_is_one_line_and_sends_nothing(
    workdir: Path, server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    port = server.base_url.split(":")[2].split("/")[0]
    for spec in (f"openai:m@127.0.0.1:{port}/v1", f"openai:m@ {server.base_url}"):
        code = main(["chat", "hi", "--model", spec, "--no-cache"])
        assert code == 2
        [line] = error_lines(capsys.readouterr().err)
        assert "field 'model'" in line
    assert server.count == 0


def test_upper_case_scheme_is_normalised_and_reaches_the_right_server(
    workdir: Path, server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.base_url.replace("http://", "HTTP://")
    assert main(["chat", "hi", "--model", f"openai:m@{url}", "--no-cache"]) == 0
    assert server.count == 1
    assert check_base_url("HTTPS://example.org/v1") == "https://example.org/v1"


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(
    workdir: Path,
    server: FaultServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = server.base_url.replace("http://", f"http://alice:{PASSWORD}@")
    store = "sqlite:///" + (workdir / "store" / "mlflow.db").as_posix()
    args = ["eval", "--prompt", "seed.txt", "--bench", "suite.toml", "--model", f"openai:m@{url}"]
    assert main([*args, "--tracking-uri", store, "--retries", "0"]) == 0
    expected = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert {auth(r.headers) for r in server.requests} == {expected}
    out, err = capsys.readouterr()
    server.play(Act("status", 401, body='{"error": "who are you"}'))
    assert main(["chat", "again", "--model", f"openai:m@{url}", "--no-cache"]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert server.count == 1  # a rejected password is not retried
    for text in (out, err, line, caplog.text):
        assert PASSWORD not in text and "alice" not in text
    _assert_not_in_files(workdir, PASSWORD)


def test_planted_key_is_found_nowhere(
    workdir: Path,
    server: FaultServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = "sqlite:///" + (workdir / "store" / "mlflow.db").as_posix()
    model = f"openai:m@{server.base_url}"
    base = ["--bench", "suite.toml", "--model", model, "--tracking-uri", store]
    assert main(["eval", "--prompt", "seed.txt", *base]) == 0
    assert main(["compare", "--prompt", "seed.txt", "--prompt", "other.txt", *base]) == 0
    assert auth(server.requests[0].headers) == f"Bearer {PLANTED_KEY}"
    server.play(Act("status", 401, body=f'{{"error": "bad key Bearer {PLANTED_KEY}"}}'))
    assert main(["eval", "--prompt", "other.txt", *base, "--no-cache"]) == 2
    out, err = capsys.readouterr()
    for text in (out, err, caplog.text):
        assert PLANTED_KEY not in text
    _assert_not_in_files(workdir, PLANTED_KEY)


def test_redact_urls_strips_user_info_only() -> None:
    spec = "openai:m@http://u:p@host:1/v1"
    assert redact_urls(spec) == "openai:m@http://host:1/v1"


def auth(headers: dict[str, str]) -> str:
    return {name.lower(): value for name, value in headers.items()}["authorization"]


def _assert_not_in_files(folder: Path, secret: str) -> None:
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert any(path.suffix in (".db", ".sqlite") for path in files)  # stores were written
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("hH tTpPsS:/.@0123456789x?#[]% \t"), max_size=30))
def test_no_typo_ever_reaches_the_default_endpoint(url: str) -> None:
    try:
        llm = load_llm(f"openai:m@{url}", no_cache=True)
    except ConfigError:
        return
    endpoint = llm.inner.endpoint  # type: ignore[attr-defined]
    assert endpoint.startswith(("http://", "https://")) and "api.openai.com" not in endpoint
