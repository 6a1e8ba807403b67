"""The README's five-minute tour, run as written against a serving demo (command 1): a certificate issued and
verified across provinces, a PROXY case received in Shanghai and accepted in Jiangsu, and an audit check;
then, against the same demo, the 亮证 walk-through of docs/credentials.md: a Shanghai ID card's credential
shown to a Zhejiang hotel desk's kit and checked offline."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.dates import start_option

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TOUR = re.compile(r"<!-- runnable: with the demo serving -->\n```bash\n(.*?)```", re.S)
SERVING = "serving; press Ctrl-C to stop"


def test_the_readme_tour_runs_as_written_against_the_demo(tmp_path: Path) -> None:
    [tour] = TOUR.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    data_dir = tmp_path / "demo"
    demo = subprocess.Popen(
        [sys.executable, "-m", "node", "demo", *start_option(), "--data-dir", str(data_dir)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    serving = threading.Event()

    def read() -> None:  # every line the demo prints; the event once it serves (or the stream ends)
        assert demo.stdout is not None
        for line in demo.stdout:
            output.append(line)
            if SERVING in line:
                serving.set()
        serving.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert serving.wait(300), "the demo did not start serving within 300 s"
        assert any(SERVING in line for line in output), "".join(output)[-3000:]
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", tour],
            cwd=ROOT, env={**env, "DEMO_DIR": str(data_dir)}, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        lines = done.stdout.splitlines()
        assert lines[0] == "VALID"
        assert lines[1] == "FORWARDED"
        assert "'status': 'ON_TIME'" in lines[2]
        assert "no tampering found" in lines[-1]

        [walk] = TOUR.findall((ROOT / "docs" / "credentials.md").read_text(encoding="utf-8"))
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walk],
            cwd=ROOT, env={**env, "DEMO_DIR": str(data_dir)}, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        shown, checked = (json.loads(line) for line in done.stdout.splitlines()[-2:])
        assert shown["shown"] == ["holder_id", "holder_name"]
        assert checked["verdict"] == "ACCEPT", checked
        assert sorted(checked["disclosed"]) == ["holder_id", "holder_name"]
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait(30)
        reader.join(60)
