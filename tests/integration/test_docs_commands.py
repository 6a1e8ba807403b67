"""Every shell block of the docs marked ``<!-- runnable -->`` runs as written: in a fresh temporary folder,
with the venv active, stopping at the first failing command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = re.compile(r"<!-- runnable -->\n```(?:bash|sh)\n(.*?)```", re.S)
BLOCKS = [
    pytest.param(block, id=f"{doc.relative_to(ROOT)}#{number}")
    for doc in DOCS
    for number, block in enumerate(RUNNABLE.findall(doc.read_text(encoding="utf-8")), 1)
]


def test_the_docs_mark_some_commands_runnable() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS)
def test_a_runnable_block_runs_as_written(block: str, tmp_path: Path) -> None:
    venv_bin = str(Path(sys.executable).parent)  # the venv the suite runs in: as `source .venv/bin/activate`
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    env |= {"PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(Path(venv_bin).parent)}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
