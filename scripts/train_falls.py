"""Train the learned fall model(s) from ../shared/datasets and write alerts/falls/models.json, deterministically.

Usage (from the repository root): PYTHONPATH=. .venv/bin/python scripts/train_falls.py [--check]
Only the wrist has a learned model (WEDA-FALL dev, all 15 subjects); the waist and the pendant keep the threshold
rule (alerts/falls/detector.py says why). The file records the command, the model's settings and a SHA-256 over the
training files (path and content hash of each), so anyone can tell which data made it. `--check` rebuilds the
model and fails if it differs from the committed file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.eval.falls_learn import CUT, FEATURES, L2, candidates, train  # noqa: E402
from alerts.eval.falls_sources import load  # noqa: E402
from alerts.falls.model import MODEL_PATH  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
COMMAND = "PYTHONPATH=. python scripts/train_falls.py"


def data_hash(root: Path, rows: list) -> str:
    """SHA-256 over 'relative path, sha256 of the file' lines of the recordings used (and the labels file)."""
    files = sorted({row[0].path for row in rows} | set(root.rglob("fall_timestamps.csv")))
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(root)} {hashlib.sha256(f.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def _round(x: object) -> object:
    """Floats to 6 significant digits, recursively: a stable, small file."""
    if isinstance(x, float):
        return float(f"{x:.6g}")
    if isinstance(x, list):
        return [_round(v) for v in x]
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    return x


def build(weda: Path) -> dict[str, object]:
    """The model file's content."""
    kind, loaded = load(weda, quiet=True)
    if kind != "weda":
        raise SystemExit(f"no WEDA-FALL recordings under {weda}")
    cands = candidates(loaded, "wrist")
    model = train(loaded, cands, range(len(loaded)), "wrist")
    model.meta.update(
        {
            "dataset": "weda-fall-dev",
            "recordings": len(loaded),
            "subjects": sorted({row[0].subject for row in loaded}),
            "data_sha256": data_hash(weda, loaded),
        }
    )
    return _round(
        {
            "command": COMMAND,
            "settings": {"features": list(FEATURES), "l2": L2, "cut": CUT},
            "models": {"wrist": model.to_dict()},
        }
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weda", type=Path, default=DATASETS / "weda-fall-dev")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--check", action="store_true", help="fail if the committed file differs from a rebuild")
    args = ap.parse_args(argv)
    text = json.dumps(build(args.weda), indent=1, sort_keys=True) + "\n"
    if args.check:
        same = args.out.is_file() and args.out.read_text() == text
        print("model file up to date" if same else f"{args.out} differs from a rebuild")
        return 0 if same else 1
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
