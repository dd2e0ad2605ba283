"""HTTP clients of the wall and the workers: JSON with a role's token, plain text, /metrics, waiting for a
server to answer."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any, Protocol

import orjson
from prometheus_client.parser import text_string_to_metric_families

from ioc.ops import procs
from tests.support.keys import token


class Running(Protocol):
    def assert_running(self) -> None: ...


def http_json(url: str, timeout: float = 2.0, role: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token(role)}"} if role else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
        return orjson.loads(r.read())


def http_call(
    method: str, url: str, role: str | None = None, body: Any = None, origin: str | None = None
) -> tuple[int, Any]:
    """(status, JSON body) of a request with a role's token; HTTP errors are returned, not raised."""
    headers = {"Content-Type": "application/json"}
    if role:
        headers["Authorization"] = f"Bearer {token(role)}"
    if origin:
        headers["Origin"] = origin
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, orjson.loads(r.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, orjson.loads(err.read() or b"null")


def http_text(url: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return str(r.read().decode())


def answers(url: str) -> bool:
    """Whether a server answers at `url`, with any status: a wall without workers says 503 on /health."""
    try:
        http_text(url, 1.0)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def health_process(url: str) -> int | None:
    """Which wall process answered `url` (/health, whose 503 carries it too); None if none answered."""
    try:
        body = http_text(url, 1.0)
    except urllib.error.HTTPError as refused:
        body = refused.read().decode()
    except OSError:
        return None
    return int(orjson.loads(body)["process"])


def wait_wall_processes(url: str, n: int, timeout: float) -> None:
    """Until /health at `url` has answered from `n` distinct wall processes: one answer is one process, and
    the kernel would send some connections to those still starting."""
    seen: set[int] = set()

    def every() -> bool:
        pid = health_process(url)
        if pid is not None:
            seen.add(pid)
        return len(seen) >= n

    procs.wait_for(every, timeout, 0.05, f"each of the {n} wall processes answering {url}")


def wait_http(url: str, timeout: float, services: Running | None = None) -> None:
    """Wait until `url` answers 2xx; stop early with the logs if one of `services` has died."""

    def ok() -> bool:
        if services is not None:
            services.assert_running()
        try:
            http_text(url, 1.0)
            return True
        except OSError:
            return False

    procs.wait_for(ok, timeout, 0.1, url)


def metric(port: int | str, name: str, **labels: str) -> float:
    """Sum of a counter's samples on a worker's or the wall's /metrics whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(http_text(f"http://127.0.0.1:{port}/metrics")):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def live_workers(url: str, up: Any) -> int:
    """Workers the wall at `url` counts alive (0 while it does not answer); fails at once if the `ioc up`
    process `up` has exited."""
    assert up.poll() is None, f"ioc up exited with {up.returncode}"
    try:
        return int(http_call("GET", f"{url}/health")[1].get("workers", 0))
    except OSError:
        return 0
