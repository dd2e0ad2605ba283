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


@click.command()
def historian() -> None:
    """Write alerts, their transitions, KPI minutes and dead letters into the operations record
    (IOC_DATABASE_URL, or IOC_DATA_DIR/ioc.db), one per deployment."""
    import asyncio
    import signal

    from ioc.settings import get_settings
    from ioc.store.database import database_url
    from processors.historian import BrokerLost, Historian
    from processors.worker import EXIT_BROKER_LOST

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="[%(asctime)s] [%(process)d] %(message)s")
    url = database_url(settings)

    async def main() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        logging.getLogger("ioc.historian").info("operations record at %s", url.split("@")[-1])
        try:
            counts = await Historian(settings).run(stop)
        except BrokerLost as exc:
            logging.getLogger("ioc.historian").error("%s; exiting with %d", exc, EXIT_BROKER_LOST)
            raise SystemExit(EXIT_BROKER_LOST) from exc
        logging.getLogger("ioc.historian").info(
            "stopped: %d records read, %d rows written, refused %s",
            counts.records,
            counts.rows,
            counts.refused,
        )

    asyncio.run(main())
