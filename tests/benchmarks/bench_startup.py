"""Start-up benchmark: how long `ioc --help`, `ioc worker --help` and a real `ioc worker` take to start, and
how many modules each imports, for this checkout and (with --base) another one, in the same run.

    python -m tests.benchmarks.bench_startup [--base /path/to/older/checkout] [--runs 5]

A worker has started when its metrics page answers (Faust's web server comes up once the app runs); it
talks to an embedded broker this script starts. Each figure is the median of --runs tries."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker

HERE = Path(__file__).resolve().parents[2]


def timed_command(root: Path, args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds for `python -m ioc ARGS` to exit, and how many modules it imported."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ioc", *args],
        cwd=root, env={**env, "PYTHONPATH": str(root)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return time.perf_counter() - t0, done.stderr.count("import time:") - 1  # less the header line


def worker_start(root: Path, env: dict[str, str], data: Path) -> float:
    """Seconds from launching `ioc worker` until its metrics page answers."""
    port = procs.free_port()
    env = {**env, "PYTHONPATH": str(root), "IOC_WORKER_WEB_PORT": str(port), "IOC_DATA_DIR": str(data)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ioc", "worker"], cwd=root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=0.5):
                    return time.perf_counter() - t0
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"worker of {root} exited with {proc.returncode}") from None
                time.sleep(0.02)
    finally:
        procs.stop(proc, timeout=15)


def measure(root: Path, env: dict[str, str], runs: int, data: Path) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    for label, args in (("ioc --help", ["--help"]), ("ioc worker --help", ["worker", "--help"])):
        tries = [timed_command(root, args, env) for _ in range(runs)]
        out[label] = (statistics.median(t for t, _ in tries), tries[-1][1])
    starts = [worker_start(root, env, data / f"w{k}") for k in range(runs)]
    out["ioc worker (metrics up)"] = (statistics.median(starts), 0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="another checkout to measure in the same run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedBroker("127.0.0.1", procs.free_port(), Path(tmp) / "b.log") as b,
    ):
        env = {
            **os.environ,
            "IOC_BOOTSTRAP": b.bootstrap,
            "IOC_NAMESPACE": "bench-startup",
            "IOC_LOG_LEVEL": "warning",
        }
        roots = {"this checkout": HERE, **({"base": args.base.resolve()} if args.base else {})}
        results = {
            name: measure(root, env, args.runs, Path(tmp) / name.replace(" ", "-"))
            for name, root in roots.items()
        }
    print(f"{'':28}" + "".join(f"{name:>26}" for name in results))
    for label in next(iter(results.values())):
        cells = []
        for figures in results.values():
            seconds, modules = figures[label]
            cells.append(f"{seconds:8.2f} s" + (f" {modules:5d} modules" if modules else " " * 14))
        print(f"{label:28}" + "".join(f"{c:>26}" for c in cells))


if __name__ == "__main__":
    main()
