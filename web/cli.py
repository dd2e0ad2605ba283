"""`ioc web`: serve the wall (page, REST API, websocket) with uvicorn."""

from __future__ import annotations

import click


@click.command()
@click.option("--port", type=int, help="Port (default IOC_WEB_PORT).")
def web(port: int | None) -> None:
    """Serve the operations-centre wall."""
    # Imported here so `ioc --help` does not pay for FastAPI and uvicorn.
    import uvicorn

    from ioc.settings import get_settings
    from web.app import create_app

    s = get_settings()
    uvicorn.run(
        create_app(s),
        host=s.web_host,
        port=port or s.web_port,
        log_level=s.log_level.lower(),
        ws="websockets",
        ws_per_message_deflate=False,  # deflate collapses above ~500 clients (measured, design notes)
        loop="uvloop",
        access_log=False,
    )
