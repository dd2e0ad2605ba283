"""`ioc web`: serve the wall (page, REST API, websocket) with uvicorn, in one process or several on a port."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option("--port", type=int, help="Port (default IOC_WEB_PORT).")
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    help="Server processes sharing the port, each reading the topics itself (default IOC_WEB_PROCESSES).",
)
@click.option("--reuse-port", is_flag=True, hidden=True, help="Serve as one of several on the port.")
def web(port: int | None, processes: int | None, reuse_port: bool) -> None:
    """Serve the operations-centre wall."""
    # Imported here so `ioc --help` does not pay for FastAPI and uvicorn.
    from ioc.settings import get_settings

    s = get_settings()
    port = port or s.web_port
    if (processes or s.web_processes) > 1 and not reuse_port:
        from web.processes import run_processes

        sys.exit(run_processes(s, port, processes or s.web_processes))
    from web.serve import serve

    serve(s, port, shared=reuse_port)
