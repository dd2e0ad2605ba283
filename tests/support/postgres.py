"""A real PostgreSQL for the tests: Debian's server binaries, a fresh cluster in a temporary directory made
with initdb and run with pg_ctl as an unprivileged user (the `postgres` account when the tests run as root),
on a free port; stopped and removed at the end."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ioc.ops import procs


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "no PostgreSQL server binaries: deploy/local/install.sh --test installs Debian's postgresql"
        )
    return Path(found[-1]).parent


def _as_owner(argv: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *argv] if owner else argv


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster; yield its SQLAlchemy URL (asyncpg) of a database `ioc`."""
    bin_dir = _binaries()
    owner = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    root = Path(tempfile.mkdtemp(prefix="ioc-pg-"))
    data, port = root / "data", procs.free_port()
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    user = owner or pwd.getpwuid(os.geteuid()).pw_name
    run = lambda *argv: subprocess.run(_as_owner(list(argv), owner), check=True, capture_output=True)  # noqa: E731
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "--no-sync", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
        options += " -c fsync=off"  # a throwaway cluster: durability is not what these tests measure
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        try:
            run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, "ioc")
            yield f"postgresql+asyncpg://{user}@127.0.0.1:{port}/ioc"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
