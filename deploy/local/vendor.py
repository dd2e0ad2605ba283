"""Refresh or verify the page's pinned JavaScript libraries in web/static/vendor from the npm registry.

    python deploy/local/vendor.py          # verify: re-download each pinned tarball, check it byte for byte
    python deploy/local/vendor.py --write  # after editing a version in vendor.json: fetch and record hashes

The wall must work offline, so the files are committed; this script is how they got there.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
MANIFEST = VENDOR / "vendor.json"


def fetch(package: str, version: str, into: Path) -> tuple[Path, str]:
    out = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tgz = into / json.loads(out)[0]["filename"]
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    return tgz, digest


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="copy the files and record their hashes")
    args = parser.parse_args()
    entries = json.loads(MANIFEST.read_text())
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in entries:
            tgz, integrity = fetch(entry["package"], entry["version"], Path(tmp))
            if args.write:
                entry["integrity"] = integrity
            elif integrity != entry["integrity"]:
                problems.append(f"{entry['package']}: registry tarball integrity {integrity} differs")
            with tarfile.open(tgz) as tar:
                for rel in list(entry["files"]):
                    src = tar.extractfile(f"package/{rel}" if rel == "LICENSE" else f"package/dist/{rel}")
                    assert src is not None, rel
                    data = src.read()
                    target = VENDOR / entry["dir"] / rel
                    if args.write:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                        entry["files"][rel] = hashlib.sha256(data).hexdigest()
                    elif target.read_bytes() != data:
                        problems.append(f"{entry['dir']}/{rel} differs from the registry's")
    if args.write:
        MANIFEST.write_text(json.dumps(entries, indent=2) + "\n")
    print("\n".join(problems) or f"{len(entries)} packages match the npm registry")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
