"""`ioc worker`: run one Faust worker of the processors app."""

from __future__ import annotations

import logging

import click


@click.command()
@click.option("--without-web", is_flag=True, help="No worker web server (extra workers on one machine).")
def worker(without_web: bool) -> None:
    """Run a Faust worker: intake, aggregation, indicators and alerts."""
    # Imported here, not at module level: loading Faust costs ~0.5 s on every `ioc` invocation otherwise.
    from faust import Worker

    from ioc.settings import get_settings
    from processors.worker import build

    settings = get_settings()
    (settings.data_dir / "worker").mkdir(parents=True, exist_ok=True)
    app = build(settings)
    if without_web:
        app.conf.web_enabled = False
    level = settings.log_level.upper()
    w = Worker(app, loglevel=level, quiet=True, redirect_stdouts=False)
    # Faust leaves the root logger at DEBUG whatever the level asked; that costs ~15 % throughput.
    logging.getLogger().setLevel(level)
    for name in ("aiokafka", "faust", "mode"):  # else their per-message debug calls build log records
        logging.getLogger(name).setLevel(level)
    w.execute_from_commandline()
