"""The package rules of docs/architecture.md, read from every module's imports (including those inside
functions): the kernel imports no tool and no sibling, the tools no sibling, a sibling no other sibling."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIBLINGS = ("simulators", "processors", "web")


def package_of(module: str) -> str:
    """The unit a rule speaks of: ioc.ops (tools), ioc (kernel) or a sibling package."""
    if module == "ioc.ops" or module.startswith("ioc.ops.") or module == "ioc.__main__":  # `python -m ioc`
        return "ioc.ops"
    return module.split(".")[0]


FORBIDDEN = {
    "ioc": {"ioc.ops", *SIBLINGS},
    "ioc.ops": set(SIBLINGS),  # the siblings' commands come in through entry points
    "simulators": {"ioc.ops", "processors", "web"},
    "processors": {"ioc.ops", "simulators", "web"},
    "web": {"ioc.ops", "simulators", "processors"},
}


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def violations(paths: list[Path]) -> list[str]:
    out = []
    for path in paths:
        home = package_of(module_name(path))
        for line, name in imports(path):
            if package_of(name) in FORBIDDEN[home]:
                out.append(f"{path.relative_to(ROOT)}:{line} ({home}) imports {name}")
    return out


def sources() -> list[Path]:
    return sorted(p for pkg in ("ioc", *SIBLINGS) for p in (ROOT / pkg).rglob("*.py"))


def test_every_package_keeps_to_its_rules() -> None:
    assert len(sources()) > 80  # the walk found the code, so an empty result means something
    assert violations(sources()) == []


@pytest.mark.parametrize(
    ("where", "code", "rule"),
    [
        ("ioc/clock.py", "from ioc.ops import procs", "(ioc) imports ioc.ops.procs"),
        ("ioc/contract/frame.py", "import processors.intake", "(ioc) imports processors.intake"),
        (
            "ioc/ops/stack.py",
            "def f():\n    from web.app import create_app",
            "(ioc.ops) imports web.app.create_app",
        ),
        ("web/feed.py", "from processors import alerts", "(web) imports processors.alerts"),
        ("simulators/cli.py", "from ioc.ops.procs import spawn", "(simulators) imports ioc.ops.procs.spawn"),
    ],
)
def test_a_forbidden_import_is_caught(tmp_path: Path, where: str, code: str, rule: str) -> None:
    path = ROOT / where
    fake = tmp_path / "probe.py"
    fake.write_text(code)
    # the probe is read as if it were `where`: same module name, same rules
    found = [(line, name) for line, name in imports(fake)]
    home = package_of(module_name(path))
    assert [f"({home}) imports {n}" for _, n in found if package_of(n) in FORBIDDEN[home]] == [rule]


def test_the_worker_command_loads_no_plotting_and_no_web_stack(tmp_path: Path) -> None:
    """`ioc worker` runs its whole body up to Faust's start (stopped there) without importing the load test's
    matplotlib or the wall's FastAPI (they cost ~0.4 s on every start before the tools moved)."""
    code = (
        "import sys, faust\n"
        "def stop(self):\n"
        "    print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
        "    raise SystemExit(0)\n"
        "faust.Worker.execute_from_commandline = stop\n"
        "from ioc.ops.cli import main\n"
        "main(['worker'])\n"
    )
    env = {**os.environ, "IOC_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(done.stdout.split())
    assert {"faust", "processors", "aiokafka"} <= loaded  # the worker did get as far as Faust
    heavy = {"matplotlib", "fastapi", "uvicorn", "starlette", "sqlalchemy", "simulators", "web"}
    assert loaded.isdisjoint(heavy)
