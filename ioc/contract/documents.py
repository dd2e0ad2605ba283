"""The output documents' vocabulary, in one place: the kinds the processors publish, KPI standings, alert
severities, statuses, the lifecycle of operator actions and the other steps of an alert's history, flood
statuses, map states, the replay status, the wall's health verdict and the worker's metric names.
Processors, the wall, its REST models, the tools and (through `/api/vocabulary`) the page's scripts all read
them from here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    """A document's `kind`: each sensor kind's indicator document, the hospital's, the area KPIs, alerts,
    the replay status and the wall's health verdict."""

    AQI = "aqi"
    WEATHER = "weather"
    WATER = "water"
    TRAFFIC = "traffic"
    LIGHTING = "lighting"
    HOSPITAL = "hospital"
    KPI = "kpi"
    ALERT = "alert"
    REPLAY = "replay"
    HEALTH = "health"
    WORKER = "worker"  # a worker's heartbeat on `<ns>.workers`
    SIMULATOR = "simulator"  # the simulator's scenario, stage and speed on `<ns>.simulator`


SENSOR_KINDS = (Kind.AQI, Kind.WEATHER, Kind.WATER, Kind.TRAFFIC, Kind.LIGHTING)
AGGREGATE_KINDS = (*SENSOR_KINDS, Kind.HOSPITAL, Kind.KPI)
# Readings whose own sensor time a load test can follow from device to screen (one reading, one item).
TIMED_KINDS = (Kind.AQI, Kind.WEATHER, Kind.WATER, Kind.LIGHTING)
# The device type an aggregate kind summarises (lighting's documents are per area, the hospital's per site).
TYPE_OF_KIND: dict[str, str] = {  # a Kind is a str: plain text looks it up too
    Kind.TRAFFIC: "TrafficFlowObserved",
    Kind.AQI: "AirQualityObserved",
    Kind.WEATHER: "WeatherObserved",
    Kind.WATER: "FloodMonitoring",
    Kind.LIGHTING: "StreetlightControlCabinet",
}
KIND_OF_TYPE = {t: k for k, t in TYPE_OF_KIND.items()}
KPI_DOMAIN = {  # KPI name → domain
    "traffic": "traffic",
    "air": "environment",
    "flood": "environment",
    "lighting": "lighting",
    "health": "health",
}
# A KPI's standing (FIWARE KeyPerformanceIndicator), best first. Every KPI here is higher-is-worse: the
# standing only falls as the value rises (processors/kpi.py's bounds ascend).
STANDINGS = ("veryGood", "good", "fair", "bad", "veryBad")


class Severity(StrEnum):
    """An alert's severity (FIWARE Alert), mildest first."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITIES = tuple(Severity)
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


class AlertStatus(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    CLEARED = "cleared"
    RESOLVED = "resolved"


ALERT_STATUSES = tuple(AlertStatus)
ACTIVE_STATUSES = (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.ASSIGNED)  # shown as active
OPEN_STATUSES = (*ACTIVE_STATUSES, AlertStatus.CLEARED)  # not resolved: the condition may return


class Action(StrEnum):
    """What an operator does to an alert."""

    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    COMMENT = "comment"
    CLEAR = "clear"  # the operator declares the condition over (a false alarm, or dealt with on site)
    RESOLVE = "resolve"
    REOPEN = "reopen"  # a cleared or resolved alert back to raised


ACTIONS = tuple(Action)
# Steps of an alert's history that are neither an operator action nor a status it moves to (those steps are
# named after the action, "assign" and "comment", or the status, "raised" when the condition returned or an
# operator reopened it, "acknowledged", "cleared" by the system or an operator, "resolved").
RAISE_STEP = "raise"  # the first step: the system raised it
# Unacknowledged a whole period of event time: one severity up. Only in documents published before an
# alert's severity followed its condition alone; attention to unacknowledged alerts is now the wall's, on the
# operators' clock, and changes no document.
ESCALATE_STEP = "escalate"
WORSENED_STEP = "worsened"  # the condition itself got worse
# The steps that raise an alert's severity after it was raised: what the shift report counts as escalations.
SEVERITY_STEPS = (WORSENED_STEP, ESCALATE_STEP)
# The lifecycle: the statuses in which an operator may take each action. One definition for the worker
# (AlertBook.act) and the REST API (which refuses at once what the worker would refuse later).
ALLOWED: dict[Action, tuple[AlertStatus, ...]] = {
    Action.ACKNOWLEDGE: (AlertStatus.RAISED,),
    Action.ASSIGN: OPEN_STATUSES,
    Action.COMMENT: OPEN_STATUSES,
    Action.CLEAR: ACTIVE_STATUSES,
    Action.RESOLVE: OPEN_STATUSES,
    Action.REOPEN: (AlertStatus.CLEARED, AlertStatus.RESOLVED),
}


def action_refusal(action: str, status: str, alert_id: str) -> str | None:
    """Why `action` is not allowed on an alert in `status`, or None when it is."""
    if action not in ACTIONS:
        return f"action must be one of {', '.join(ACTIONS)}"
    allowed = ALLOWED[Action(action)]
    if status in allowed:
        return None
    if status == AlertStatus.RESOLVED:
        return f"{alert_id} is already resolved"
    return f"{alert_id} is {status}; {action} needs it {' or '.join(allowed)}"


def reopen_refusal(alert_id: str, open_id: str | None) -> str | None:
    """Why a resolved alert cannot be reopened: another alert of its rule and entity (`open_id`) is open, and
    there is only ever one. None when it can."""
    if open_id is None or open_id == alert_id:
        return None
    return f"{open_id} is open for the same rule and entity: act on that one"


def status_after(action: Action, status: AlertStatus) -> AlertStatus:
    """The alert's status once an allowed action is taken (a cleared alert stays cleared when assigned)."""
    if action == Action.ACKNOWLEDGE:
        return AlertStatus.ACKNOWLEDGED
    if action == Action.ASSIGN:
        return AlertStatus.CLEARED if status == AlertStatus.CLEARED else AlertStatus.ASSIGNED
    if action == Action.CLEAR:
        return AlertStatus.CLEARED
    if action == Action.RESOLVE:
        return AlertStatus.RESOLVED
    if action == Action.REOPEN:
        return AlertStatus.RAISED
    return status


class FloodStatus(StrEnum):
    """A water gauge against its alert levels (báo động 1-3)."""

    NORMAL = "normal"
    ALERT1 = "alert1"
    ALERT2 = "alert2"
    ALERT3 = "alert3"


FLOOD_STATUSES = tuple(FloodStatus)


class MapState(StrEnum):
    """How the wall colours a site by its latest value."""

    OK = "ok"
    WARNING = "warning"
    ALARM = "alarm"
    OFFLINE = "offline"
    NO_DATA = "no-data"


MAP_STATES = tuple(MapState)


class ReplayState(StrEnum):
    PLAYING = "playing"
    PAUSED = "paused"
    FINISHED = "finished"


REPLAY_STATES = tuple(ReplayState)
REPLAY_PREFIX = "replay-"  # a replay's namespace; never live topics


def is_replay(namespace: str) -> bool:
    return namespace.startswith(REPLAY_PREFIX)


class HistoryEntry(BaseModel):
    """One step of an alert's lifecycle: raise, escalate, worsened, acknowledge, assign, comment, ..."""

    model_config = ConfigDict(extra="allow")
    action: str
    by: str
    at: int = Field(description="simulated ms since epoch")
    comment: str = ""
    severity: Severity | None = None
    assignee: str | None = None


class AlertDocument(BaseModel):
    """An alert as published on `<ns>.alerts` (FIWARE Alert vocabulary) and served by the wall."""

    model_config = ConfigDict(extra="allow")
    v: int = 1
    kind: Literal["alert"] = "alert"
    id: str = Field(description="<rule>:<entity>:<condition first seen, ms>")
    type: Literal["Alert"] = "Alert"
    rule: str
    entity: str
    category: str
    subCategory: str
    severity: Severity
    dateIssued: int
    status: AlertStatus
    assignee: str | None = None
    escalations: int = 0
    history: list[HistoryEntry]
    area: str | None = None
    domain: str | None = None


class OperatorAction(BaseModel):
    """An operator's action as the wall writes it to `<ns>.operator-actions`, signed: for the worker's
    AlertBook (alert, action, by, at, comment, assignee) and for the audit (id, role, source, sent_at)."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=64, description="unique per action: the audit's key")
    alert: str = Field(max_length=300)
    action: Action
    by: str = Field(min_length=1, max_length=128, description="the token's name")
    role: str = Field(max_length=32, description="the token's role")
    source: str = Field(max_length=64, description="the client's address as the wall saw it")
    at: int = Field(description="the IOC's simulated ms since epoch")
    sent_at: int = Field(description="wall-clock ms the wall accepted it")
    comment: str = Field("", max_length=2000)
    assignee: str | None = Field(None, max_length=128)


class ReplayStatus(BaseModel):
    """What a replay publishes on `<ns>.replay`: the wall's banner follows it."""

    model_config = ConfigDict(extra="allow")
    v: int = 1
    kind: Literal["replay"] = "replay"
    job: str
    speed: float | None = Field(description="simulated seconds per real second; None = as fast as possible")
    state: ReplayState
    sim_ms: int | None
    position: int
    records: int
    at: int = Field(description="wall-clock ms when published")
    sim_from: int | None = Field(None, description="the recording's first simulated time (epoch ms)")
    sim_to: int | None = Field(None, description="the recording's last simulated time (epoch ms)")
    stays: bool = Field(False, description="after the end it waits, still seekable, until stopped")


def replay_status(doc: Any) -> ReplayStatus | None:
    """A replay status document, or None when it is not one."""
    try:
        return ReplayStatus.model_validate(doc)
    except ValueError:
        return None


class ScenarioPhase(StrEnum):
    """Where a simulator is in its scenario: none played, before its start (history), playing, ended (the
    city goes on as normal)."""

    NONE = "none"
    BEFORE = "before"
    PLAYING = "playing"
    AFTER = "after"


SCENARIO_PHASES = tuple(ScenarioPhase)


class SimulatorStatus(BaseModel):
    """What a simulator publishes on `<ns>.simulator`, signed with the control key (it is the namespace's
    time source): the wall's banner names the scenario and its current stage from it."""

    model_config = ConfigDict(extra="allow")
    v: int = 1
    kind: Literal["simulator"] = "simulator"
    source: str = Field(max_length=128)
    speed: float | None = Field(description="simulated seconds per real second; None = as fast as possible")
    sim_ms: int = Field(description="the simulated time it has reached")
    phase: ScenarioPhase
    scenario: str | None = Field(None, max_length=128, description="the scenario's name")
    title: str | None = Field(None, max_length=300)
    title_en: str | None = Field(None, max_length=300)
    stage: str | None = Field(None, max_length=128, description="the stage playing (latest begun), if any")
    stage_title: str | None = Field(None, max_length=300)
    stage_title_en: str | None = Field(None, max_length=300)
    ends_ms: int | None = Field(None, description="simulated time the scenario ends")
    history: bool = Field(False, description="still sending its warm-up history as fast as possible")
    at: int = Field(description="wall-clock ms when published")


def simulator_status(doc: Any) -> SimulatorStatus | None:
    """A simulator status document, or None when it is not one."""
    try:
        return SimulatorStatus.model_validate(doc)
    except ValueError:
        return None


# The wall's verdict on whether its data is current (web.liveness → /health and the page's banner).
LivenessProblem = Literal["no_worker", "worker_stuck", "worker_behind", "feed_down", "no_data", "data_loss"]
LIVENESS_PROBLEMS: tuple[LivenessProblem, ...] = get_args(LivenessProblem)


HealthStatus = Literal["ok", "starting", "red"]


class Problem(BaseModel):
    """One reason the data is not current; worker problems also name the worker, partition and lag."""

    model_config = ConfigDict(extra="allow")
    code: LivenessProblem
    since: int | None = Field(description="ms since epoch")


class DataLoss(BaseModel):
    """The last time the broker came back empty."""

    at: int = Field(description="ms since epoch when the wall noticed")
    last_sim: int | None = Field(description="the newest simulated time the wall had shown before")
    why: str


class FeedState(BaseModel):
    connected: bool
    caught_up: bool
    records: int
    errors: int
    refused: int
    cluster: str | None


class ScenarioBanner(BaseModel):
    """The scenario the simulator plays and its current stage, in both languages."""

    phase: ScenarioPhase
    scenario: str | None = None
    title: str | None = None
    title_en: str | None = None
    stage: str | None = None
    stage_title: str | None = None
    stage_title_en: str | None = None
    ends_ms: int | None = Field(None, description="simulated time the scenario ends")


class Mode(BaseModel):
    """The LIVE / REPLAY banner: a replay's job and state once it has reported, else the simulator's speed
    (or the configured one) and the scenario it plays (in a replay: the recorded simulator's, as replayed)."""

    kind: Literal["live", "replay"]
    speed: float | None = Field(description="simulated seconds per real second; None = as fast as possible")
    namespace: str
    job: str | None = None
    state: ReplayState | None = None
    scenario: ScenarioBanner | None = None
    history: bool = Field(False, description="the simulator still sends its warm-up history: not paced yet")
    paced: bool = Field(
        True, description="data arrives at the clock's pace (and has for a while): staleness is judged"
    )


class WallHealth(BaseModel):
    """The wall's `/health` body (200, or 503 when red): what `ioc up` and the probes read."""

    status: HealthStatus = Field(description="red (503) when the wall does not show current data")
    problems: list[Problem]
    data_loss: DataLoss | None
    workers: int = Field(description="workers heard from recently")
    feed: FeedState
    areas: dict[str, int] = Field(description="per area, air-quality stations with an index")
    entities: int
    clients: int
    sim_time: int
    mode: Mode
    process: int = Field(description="the id of the server process that answered (one of IOC_WEB_PROCESSES)")


class WorkerMetric:
    """Names of the worker's Prometheus counters that the tools read."""

    READINGS_ACCEPTED = "ioc_readings_accepted_total"
    FRAMES = "ioc_frames_total"
    DEADLETTER_READINGS = "ioc_deadletter_readings_total"


def vocabulary() -> dict[str, Any]:
    """Everything above that the page needs, as served by `/api/vocabulary`."""
    return {
        "sensorKinds": SENSOR_KINDS,
        "kindOfType": KIND_OF_TYPE,
        "kpiDomain": KPI_DOMAIN,
        "severities": SEVERITIES,
        "alertStatuses": ALERT_STATUSES,
        "activeStatuses": ACTIVE_STATUSES,
        "openStatuses": OPEN_STATUSES,
        "actions": ACTIONS,
        "allowed": ALLOWED,
        "floodStatuses": FLOOD_STATUSES,
        "mapStates": MAP_STATES,
        "replayStates": REPLAY_STATES,
        "replayPrefix": REPLAY_PREFIX,
        "livenessProblems": LIVENESS_PROBLEMS,
        "scenarioPhases": SCENARIO_PHASES,
    }
