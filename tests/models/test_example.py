"""``examples/train_and_serve.py`` (issue 17, point 5) runs end to end: train twice,
register, serve with a 20 % canary, promote, and trace a prediction to its data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from clikit import rillet_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_and_serve.py"


def test_train_register_serve_promote_and_trace(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path / "home")],
                          cwd=tmp_path, env=rillet_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert "registered houses versions 1 (production) and 2 (challenger)" in out
    split = re.search(r"200 requests: (\d+) answered by version 1, (\d+) by version 2", out)
    assert split is not None and int(split[1]) + int(split[2]) == 200
    assert 10 <= int(split[2]) <= 80  # 20 % of 200, very loosely
    assert "promoted: houses@production 1 -> 2" in out
    assert re.search(r"now: [\d.]+ from version 2", out)
    # The prediction's lineage reaches the generated training data and its inputs.
    lineage = out.split("lineage of request")[1]
    assert "<- model houses version 2" in lineage
    assert ":make_data [__main__:make_data] SUCCEEDED" in lineage
    assert "(ndarray)" in lineage and "seed:" in lineage
    assert "history: alias alias=production version=2 previous=1" in out
    assert "*  param   train.ridge" in out
