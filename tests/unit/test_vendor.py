"""The page's chart and map libraries are the pinned npm releases, byte for byte, and served locally."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "web" / "static"


def test_vendored_files_match_the_pinned_manifest() -> None:
    entries = json.loads((STATIC / "vendor" / "vendor.json").read_text())
    assert {e["package"] for e in entries} == {"leaflet", "uplot"}
    for entry in entries:
        assert entry["dir"] == f"{entry['package']}-{entry['version']}"
        for rel, digest in entry["files"].items():
            data = (STATIC / "vendor" / entry["dir"] / rel).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, rel


def test_the_page_loads_nothing_from_the_internet() -> None:
    for page in STATIC.glob("*.html"):  # the wall, the shift report's shell
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.read_text())
        # Only this server's own paths ("/shift", "/static/...") or inline data; never "//host" or a scheme.
        local = [s for s in sources if s.startswith(("data:", "/")) and not s.startswith("//")]
        assert sources and local == sources, (page.name, sources)
    for script in STATIC.glob("*.js"):
        assert not re.search(r"https?://", script.read_text()), script.name
