"""`ioc replay --watch`: a worker, a historian and a wall of the replay's own, on free ports and in a data
directory of their own, beside whatever else runs (a live `ioc up` keeps its ports, its record and its
wall), on the cluster at IOC_BOOTSTRAP when one answers there, else on an embedded broker of their own."""

from __future__ import annotations

import sys
from collections.abc import Callable

from ioc import auth
from ioc.ops import procs
from ioc.ops.stack import Part, Stack
from ioc.settings import Settings
from ioc.signing import key_texts
from ioc.store import HISTORIAN_READY


def cluster_answers(settings: Settings) -> bool:
    """Whether a broker answers at the first IOC_BOOTSTRAP address (a running `ioc up`, or a cluster)."""
    host, _, port = settings.bootstrap_servers[0].rpartition(":")
    return port.isdigit() and procs.port_open(host, int(port))


def replay_settings(live: Settings, namespace: str, job: str, own_broker: bool) -> Settings:
    """The replay stack's settings: the replay's namespace, free ports, its own data directory (its record,
    logs and ready files), the live keys (the replayer signs with them), the live tokens (or fresh ones)."""
    document, control = key_texts(live)
    update = {
        "namespace": namespace,
        "web_port": procs.free_port(live.web_host),
        "worker_web_port": procs.free_port(live.broker_host),
        "data_dir": live.data_dir / "replays" / job,
        "database_url": "",  # a record of its own (SQLite in its data dir): never mixed with the live one
        "document_key": document,
        "control_key": control,
        "tokens": live.tokens or auth.dev_tokens(),
    }
    if own_broker:
        update["broker_port"] = procs.free_port(live.broker_host)
    return Settings.model_validate({**live.model_dump(), **update})


def start(settings: Settings, own_broker: bool, say: Callable[[str], None]) -> Stack:
    """Start the replay's historian, worker and wall (and broker if `own_broker`); print the wall's links."""
    run = [sys.executable, "-m", "ioc"]
    parts = [
        Part("historian", [*run, "historian"], ready_file=HISTORIAN_READY),
        Part("worker", [*run, "worker"], waits_for=HISTORIAN_READY),
        Part("web", [*run, "web"]),
    ]
    stack = Stack(settings, parts, settings.data_dir / "logs")
    try:
        stack.start(embedded_broker=own_broker)
        stack.wait_web()
    except BaseException:
        stack.stop()
        raise
    where = "its own embedded broker" if own_broker else "the cluster"
    say(f"replay stack on {where} at {stack.settings.bootstrap}; logs in {stack.log_dir}")
    say(f"replay wall: {stack.web_url}/")
    for role in auth.PERMISSIONS:
        if (token := auth.token_of(settings.tokens, role)) is not None:
            say(f"  {role:<9} {stack.web_url}/?token={token}")
    return stack
