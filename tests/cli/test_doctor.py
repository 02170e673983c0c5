"""``autotune doctor``: one line per check, exit 1 on a failure, ``--json``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from autotune import doctor
from autotune.cli.main import main

FAST = ("check_embedded_model", "check_llama_build")


@pytest.fixture
def no_model_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the two slow checks; the embedded tests run them for real."""
    checks = tuple(c for c in doctor.CHECKS if c.__name__ not in FAST)
    monkeypatch.setattr(doctor, "CHECKS", checks)


class _Models(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path.endswith("/models") else 404)
        self.end_headers()
        self.wfile.write(b'{"data": []}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def models_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_json_lists_every_check_and_passes_on_a_healthy_setup(
    no_model_checks: None,
    models_server: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv(
        "OPENAI_BASE_URL", f"http://u:secret@127.0.0.1:{models_server.server_port}/v1"
    )
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [check["name"] for check in report["checks"]]
    assert names[:5] == ["python", "autotune", "mlflow", "optuna", "openai"]
    assert {"response cache", "mlflow store", "optuna storage", "openai endpoint"} <= set(names)
    assert report["ok"] is True
    assert all(check["status"] == "pass" for check in report["checks"])
    assert "secret" not in json.dumps(report)  # credentials in the URL are never shown


def test_an_unreachable_endpoint_fails_with_exit_1_and_one_line_per_check(
    no_model_checks: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    assert len(failed) == 1 and "openai endpoint" in failed[0] and "did not answer" in failed[0]
    assert len(lines) == len(doctor.run_checks())


def test_a_read_only_store_fails(
    no_model_checks: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/file/mlflow.db")
    (tmp_path / "file").write_text("a file where a folder should be")
    checks = {check.name: check for check in doctor.run_checks()}
    assert checks["mlflow store"].status == "fail"
    assert "NOT writable" in checks["mlflow store"].detail


def test_amx_in_the_build_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    info = "CPU : SSE3 = 1 | AVX2 = 1 | AMX_INT8 = 1 | AVX512 = 0 |"
    monkeypatch.setattr(doctor, "llama_system_info", lambda: info)
    monkeypatch.setattr("autotune.llm.backend_check.llama_cpp_version", lambda: "0.3.36")
    check = doctor.check_llama_build()
    assert check.status == "fail" and "AMX" in check.detail and "GGML_NATIVE=OFF" in check.detail
    assert doctor.enabled_features(info) == ["SSE3", "AVX2", "AMX_INT8"]
