"""The README's quick start: a user without PyTorch names a model file that imports it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
sys.modules["torch"] = None  # as if PyTorch were not installed
from analyzer.cli import main
sys.exit(main(["analyze", sys.argv[1] + ":net", "-i", "1,3,8,8"]))
"""


def test_missing_framework_hint_is_given_once(tmp_path: Path) -> None:
    model = tmp_path / "m.py"
    model.write_text("import torch\nnet = torch.nn.Conv2d(3, 4, 3)\n")
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(model)], capture_output=True, text=True)
    assert p.returncode == 1
    assert p.stderr.count("pip install 'analyzer[torch]'") == 1, p.stderr
