"""Where tests leave what a person looks at afterwards (screenshots, the chaos summary)."""

from __future__ import annotations

import os
from pathlib import Path

ARTIFACTS = Path(os.environ.get("IOC_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
