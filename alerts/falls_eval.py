"""`python -m alerts.falls_eval DATASET_DIR [--json] [--cv K] [--worn-at waist|wrist|pendant]`.

The command issue 17 and the README name; the evaluation itself lives in alerts/eval/falls.py.
"""

from __future__ import annotations

import sys

from alerts.eval.falls import main

if __name__ == "__main__":
    sys.exit(main())
