"""docs/embedding.md's first program (its sections 1 and 2, one file) runs and prints what the
page says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"


def test_the_page_s_program_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    app = tmp_path / "app.py"
    app.write_text(blocks[0] + "\n" + blocks[1])
    done = subprocess.run(
        [sys.executable, str(app)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n") == ["100", "70", "ValueError: ada has only 70", "70", ""]
