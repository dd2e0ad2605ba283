"""The `ioc` command line. Commands that live in simulators/, processors/ and web/ plug in through the
`ioc.commands` entry points, so this shared core never imports its siblings."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from importlib import import_module
from importlib.metadata import entry_points
from types import FrameType
from typing import Any

import click
from pydantic import ValidationError

from ioc import auth
from ioc.city import load_city
from ioc.kafka import ensure_topics
from ioc.net import port_free
from ioc.ops.broker import BrokerError
from ioc.ops.stack import Part, Stack, StackError
from ioc.settings import SECRETS, Settings, describe, get_settings, problems
from ioc.store import HISTORIAN_READY
from ioc.topics import Topics


class LazyGroup(click.Group):
    """A group whose commands are imported when they run (or --help lists them), so `ioc worker` never pays
    for the load test's matplotlib or the wall's FastAPI."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}  # command name → "module:attribute"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def invoke(self, ctx: click.Context) -> Any:
        # A wrong IOC_* value is the user's input like an option: said in one line per value, no traceback.
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            raise SettingsProblem(problems(exc)) from None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.pop(cmd_name, None)
        if target is not None:
            self.add_command(_load(cmd_name, target), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
def main() -> None:
    """Nghệ An IOC: simulators, processors and the operations-centre wall on Kafka.

    Every setting is an IOC_* environment variable with a default: see `ioc settings`.
    """


@main.command()
def settings() -> None:
    """List every IOC_* setting with its current value, default and meaning."""
    current = get_settings()
    for var, default, doc in describe():
        value = str(getattr(current, var[4:].lower()))
        if value != default and var in SECRETS:
            value = "(set)"  # never print a key or password
        mark = "" if value == default else f"  (now {value})"
        click.echo(f"{var:<26} {default:<18} {doc}{mark}")


@main.command()
def broker() -> None:
    """Run the embedded Tansu broker with this namespace's topics until Ctrl-C; if it dies it is started
    again (empty, as a memory broker is) and its topics are created again."""
    s = get_settings()
    stack = Stack(s, [], s.data_dir / "logs")
    _stop_on_sigterm()
    try:
        stack.start()
        assert stack.broker is not None
        click.echo(
            f"broker ready on {stack.broker.bootstrap} (cluster {stack.broker.cluster_id}); topics created; "
            f"log {stack.log_dir / 'broker.log'}. Ctrl-C stops."
        )
        stack.watch(say=lambda text: click.echo(f"{time.strftime('%H:%M:%S')} {text}"))
    except (KeyboardInterrupt, _Stop):
        pass
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        stack.stop()


@main.command()
def topics() -> None:
    """Create this namespace's topics on IOC_BOOTSTRAP (for an external Kafka cluster)."""
    s = get_settings()
    asyncio.run(ensure_topics(s, _layout()))
    for name, n in _layout().items():
        click.echo(f"{name}  partitions={n}")


@main.command()
@click.option("--speed", type=float, help="Simulated seconds per real second (default IOC_SPEED).")
@click.option("--start", "start", help="Simulated start, ISO 8601 or 'now' (default IOC_START).")
@click.option("--seed", type=int, help="Simulator seed (default IOC_SEED).")
@click.option("--port", type=int, help="Web port (default IOC_WEB_PORT).")
@click.option("--scenario", help="Play an incident scenario (`ioc scenarios list`), from its own start time.")
@click.option(
    "--no-sim", is_flag=True, help="Start without simulators (devices or a replay feed the broker)."
)
def up(
    speed: float | None,
    start: str | None,
    seed: int | None,
    port: int | None,
    scenario: str | None,
    no_sim: bool,
) -> None:
    """Start the whole embedded stack: broker, Faust worker, web wall and simulators. Ctrl-C stops it."""
    s = _given(get_settings(), speed=speed, start=start, seed=seed, web_port=port, scenario=scenario)
    if not s.tokens:
        s = s.model_copy(update={"tokens": auth.dev_tokens()})  # fresh per run unless the operator set them
    _preflight(s, start, no_sim)
    run = [sys.executable, "-m", "ioc"]
    parts = [
        Part("historian", [*run, "historian"], ready_file=HISTORIAN_READY),
        Part("worker", [*run, "worker"], waits_for=HISTORIAN_READY),
        Part("web", [*run, "web"]),
    ]
    if not no_sim:
        # An explicit --start beats the scenario's own start time; IOC_START does not.
        argv = [*run, "simulate", "--live", *(["--start", start] if start else [])]
        parts.append(Part("simulator", argv, may_finish=True))
    stack = Stack(s, parts, s.data_dir / "logs")
    t0 = time.monotonic()
    _stop_on_sigterm()
    failed = False
    try:
        stack.start()
        click.echo(f"broker ready on {stack.settings.bootstrap}; logs in {stack.log_dir}")
        stack.wait_web()
        click.echo(f"wall: {stack.web_url}/   (API docs {stack.web_url}/docs)")
        for role in auth.PERMISSIONS:
            if (token := auth.token_of(s.tokens, role)) is not None:
                click.echo(f"  {role:<9} {stack.web_url}/?token={token}")
        if not no_sim:
            areas = list(load_city().areas)
            stack.wait_live(areas, timeout=90)
            mem = ", ".join(f"{k} {v:.0f} MB" for k, v in stack.memory_mb().items())
            click.echo(
                f"live data for {', '.join(areas)} {time.monotonic() - t0:.1f} s after start; RSS: {mem}"
            )
        click.echo("Ctrl-C stops the stack; a part that dies is started again.")
        stack.watch(say=lambda text: click.echo(f"{time.strftime('%H:%M:%S')} {text}"))
    except (KeyboardInterrupt, _Stop):
        click.echo("\nstopping ...")
    except (StackError, BrokerError, TimeoutError) as exc:
        click.echo(f"error: {exc}", err=True)
        failed = True
    finally:
        # A second Ctrl-C must not interrupt the orderly stop and leave children behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    click.echo("stopped.")
    if failed:
        sys.exit(1)


def _given(s: Settings, **options: Any) -> Settings:
    """`s` with the options given on the command line, checked as the environment's values were; the stack
    hands the result to its children whole."""
    given = {name: value for name, value in options.items() if value is not None}
    try:
        return Settings.model_validate({**s.model_dump(), **given})
    except ValidationError as exc:
        options_given = {name: f"--{OPTION_OF.get(name, name)}" for name in given}
        raise click.UsageError(problems(exc, options_given)) from None


OPTION_OF = {"web_port": "port"}  # a setting whose option is named otherwise


def _preflight(s: Settings, start: str | None, no_sim: bool) -> None:
    """Everything `ioc up` can check before it starts a process: the ports it will listen on are free, and
    each part's own checks (`ioc.checks` entry points: the simulator's scenario and start) pass."""
    wanted = [
        ("IOC_BROKER_PORT", s.broker_host, s.broker_port),
        ("IOC_WORKER_WEB_PORT", s.broker_host, s.worker_web_port),
        ("--port", s.web_host, s.web_port),
    ]
    found = [
        f"{name}={port}: port {port} on {host} is in use (another `ioc up`?); stop it or choose another"
        for name, host, port in wanted
        if not port_free(host, port)
    ]
    for check in [] if no_sim else entry_points(group="ioc.checks"):
        try:
            check.load()(s, start)
        except ValueError as exc:
            found.append(str(exc))
    if found:
        raise click.UsageError("\n".join(found))


class SettingsProblem(click.ClickException):
    exit_code = 2  # as click's usage errors

    def format_message(self) -> str:
        return f"wrong setting:\n{self.message}"


class _Stop(Exception):
    pass


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    signal.signal(signal.SIGTERM, handler)


def _layout() -> dict[str, int]:
    s = get_settings()
    return Topics(s.namespace).layout(s.partitions)


def _load(name: str, target: str) -> click.Command:
    module, _, attribute = target.partition(":")
    try:
        command = getattr(import_module(module), attribute)
    except Exception as exc:  # a broken plugin must not take the whole CLI down
        return _broken(name, exc)
    assert isinstance(command, click.Command), target
    return command


def _broken(name: str, exc: Exception) -> click.Command:
    @click.command(name, help=f"(unavailable: {exc})", context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        raise click.ClickException(f"`ioc {name}` could not be loaded: {exc!r}")

    return command


assert isinstance(main, LazyGroup)
main.lazy.update(
    record="ioc.ops.recording.cli:record",
    replay="ioc.ops.recording.cli:replay",
    recording="ioc.ops.recording.cli:recording_group",
    compare="ioc.ops.recording.cli:compare_runs",
    loadtest="ioc.ops.loadtest.cli:loadtest_command",
    report="ioc.ops.report:report_group",
)
main.lazy.update({ep.name: ep.value for ep in entry_points(group="ioc.commands")})  # the siblings' commands
