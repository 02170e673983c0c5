"""How fast outages end: wall time of CLI commands against failing loopback servers.

Each case runs the real ``autotune`` console script in a fresh process (imports
included, as a user pays them) against a local server that answers 401, or against a
port where nothing listens. The issue's bar: a run with a wrong key stops in under 5 s
with one line; ``regress`` against a dead server exits 2.

Usage: python benchmarks/bench_fault_times.py
Writes benchmarks/results/fault_times.json and prints a table (with the machine's load).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RESULT_PATH = Path(__file__).parent / "results" / "fault_times.json"
AUTOTUNE = str(Path(sys.executable).with_name("autotune"))
SUITE = """name = "faults"
data = "cases.jsonl"
input_template = "Word: {word}"
expected = "answer"
split = { column = "split" }
[[metrics]]
name = "exact"
"""


class _Refuse(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"error": {"message": "invalid api key"}}'
        self.send_response(401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _folder(url: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fault-times-"))
    (folder / "suite.toml").write_text(SUITE)
    rows = [
        {
            "id": f"c{i}",
            "word": f"w{i}",
            "answer": "a",
            "split": "train" if i < 8 else "validation" if i < 16 else "test",
        }
        for i in range(40)
    ]
    (folder / "cases.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (folder / "seed.txt").write_text("Repeat the word.\n")
    (folder / "exp.toml").write_text(
        f'name = "x"\nbenchmark = "suite.toml"\nseed_prompt = "seed.txt"\n[models]\n'
        f'task = "openai:m@{url}"\nmeta = "fake"\ncache = false\n[tracking]\nenabled = false\n'
    )
    return folder


def _timed(args: list[str], folder: Path) -> dict[str, object]:
    start = time.perf_counter()
    done = subprocess.run(
        [AUTOTUNE, *args], cwd=folder, capture_output=True, text=True, timeout=600, check=False
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("autotune:")]
    return {
        "args": " ".join(args[:1]),
        "exit": done.returncode,
        "wall_s": round(time.perf_counter() - start, 2),
        "error_line": lines[-1] if lines else "",
        "traceback": "Traceback" in done.stderr,
    }


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    wrong_key = f"http://127.0.0.1:{server.server_address[1]}/v1"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    prompts = ["--prompt", "seed.txt", "--bench", "suite.toml", "--no-track"]
    gate = ["--bench", "suite.toml", "--candidate", "seed.txt", "--baseline", "seed.txt"]
    cases = {
        "run, 401": (wrong_key, ["run", "exp.toml"]),
        "eval, 401": (wrong_key, ["eval", *prompts, "--model", f"openai:m@{wrong_key}"]),
        "run, refused": (dead, ["run", "exp.toml", "--trials", "3"]),
        "eval, refused": (dead, ["eval", *prompts, "--model", f"openai:m@{dead}"]),
        "regress, refused": (dead, ["regress", *gate, "--model", f"openai:m@{dead}"]),
    }
    load = os.getloadavg()[0]
    results = {}
    for name, (url, args) in cases.items():
        folder = _folder(url)
        results[name] = _timed(args, folder)
        shutil.rmtree(folder, ignore_errors=True)
        r = results[name]
        print(f"{name:18s} exit {r['exit']}  {r['wall_s']:6.2f} s  {r['error_line'][:90]}")
    server.shutdown()
    report = {"benchmark": "fault_times", "load_average": [load, os.getloadavg()[0]], **results}
    RESULT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(f"load average {load:.1f}; wrote {RESULT_PATH}")


if __name__ == "__main__":
    main()
