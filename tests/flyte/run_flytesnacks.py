"""Run Flyte's own examples (a flytesnacks checkout) on rillet after the one-line port.

    python tests/flyte/run_flytesnacks.py PATH/TO/flytesnacks [--json] [--timeout S]

Copies each example folder to a temporary directory, replaces ``flytekit`` by
``rillet.flyte`` in every ``.py`` file (``sed 's/\\bflytekit\\b/rillet.flyte/g'``),
then runs each example module as ``python -m <package>.<module>`` (so relative
imports work, and ``if __name__ == "__main__"`` blocks run the workflows locally).
An example passes when it exits 0. Examples that need a network, a Flyte cluster or
a flytekit plugin are listed as SKIP with the reason. Exits 1 if any example fails.
flytesnacks's files are never copied into this repository.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FOLDERS = ("basics", "advanced_composition", "data_types_and_io", "development_lifecycle",
           "productionizing")
SED = re.compile(r"\bflytekit\b")

# Examples that cannot run on one machine without a network, a cluster or a plugin.
NEEDS: dict[str, str] = {
    "waiting_for_external_inputs.py": "cluster: waits for a human's input signal (Flyte admin)",
    "reference_task.py": "cluster: a reference task is registered on a Flyte cluster",
    "reference_launch_plan.py": "cluster: a reference launch plan lives on a Flyte cluster",
    "lp_notifications.py": "cluster: Email/Slack/PagerDuty notifications are sent by Flyte admin",
    "pytorch_type.py": "plugin: torch and dataclasses_json",
    "tensorflow_type.py": "plugin: tensorflow",
    "decks.py": "plugin: flytekitplugins-deck (and sklearn)",
    "file.py": "network: downloads CSV files from GitHub",
    "folder.py": "network: downloads CSV files from GitHub (urllib)",
    "file_streaming.py": "network: reads and writes s3:// buckets",
}
_PLUGIN_IMPORT = re.compile(r"^\s*(from|import)\s+(flytekitplugins|torch|tensorflow)\b", re.M)


def port(text: str) -> str:
    return SED.sub("rillet.flyte", text)


def why_skipped(path: Path) -> str | None:
    reason = NEEDS.get(path.name)
    if reason is None and _PLUGIN_IMPORT.search(path.read_text()):
        reason = "plugin: imports a flytekit plugin or a deep-learning library"
    return reason


def examples(root: Path, folders: tuple[str, ...]) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for folder in folders:
        pkg = root / "examples" / folder / folder
        if not pkg.is_dir():
            pkg = root / folder / folder  # a checkout of the examples folder itself
        if not pkg.is_dir():
            raise SystemExit(f"{root}: no examples/{folder}/{folder} (a flytesnacks checkout?)")
        found.extend((folder, p) for p in sorted(pkg.glob("*.py")) if p.name != "__init__.py")
    return found


def run_one(work: Path, folder: str, path: Path, timeout: float) -> tuple[str, str, float]:
    module = f"{folder}.{path.stem}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(work / folder), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONWARNINGS", "ignore")
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", module], cwd=work / folder, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "FAIL", f"timed out after {timeout:g}s", time.perf_counter() - started
    took = time.perf_counter() - started
    if proc.returncode == 0:
        return "PASS", "", took
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return "FAIL", (lines[-1] if lines else f"exit {proc.returncode}"), took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path)
    ap.add_argument("--folders", default=",".join(FOLDERS))
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    folders = tuple(f for f in args.folders.split(",") if f)
    found = examples(args.checkout, folders)
    results = []
    with tempfile.TemporaryDirectory(prefix="rillet-flytesnacks-") as tmp:
        work = Path(tmp)
        for folder, path in found:
            dest = work / folder / folder
            if not dest.exists():
                shutil.copytree(path.parent, dest)
                for py in dest.rglob("*.py"):
                    py.write_text(port(py.read_text()))
        for folder, path in found:
            reason = why_skipped(path)
            if reason is not None:
                status, detail, took = "SKIP", reason, 0.0
            else:
                status, detail, took = run_one(work, folder, path, args.timeout)
            results.append({"example": f"{folder}/{path.name}", "status": status,
                            "detail": detail, "seconds": round(took, 2)})
            if not args.json:
                print(f"{status} {folder}/{path.name}" + (f": {detail}" if detail else ""),
                      flush=True)
    counts = {s: sum(r["status"] == s for r in results) for s in ("PASS", "FAIL", "SKIP")}
    if args.json:
        print(json.dumps({"results": results, "counts": counts}, indent=2))
    else:
        ran = counts["PASS"] + counts["FAIL"]
        print(f"{counts['PASS']} of {ran} runnable examples pass; {counts['SKIP']} skipped "
              "(network, cluster or plugin)")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
