"""Reading schemas per entity type, attribute names after FIWARE Smart Data Models where one exists."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

Kind = Literal["f", "i", "s", "b"]  # float, integer, string, boolean

# Event times are epoch milliseconds (UTC); anything outside 2000..2100 is a broken clock.
EPOCH_MS_MIN = 946_684_800_000
EPOCH_MS_MAX = 4_102_444_800_000
# Up to this many readings a frame is short: each numpy step costs ~1 us whatever its length, so short frames
# are checked, looked up and folded value by value instead (contract, city, intake and traffic alike).
SHORT_FRAME = 32
MAX_TEXT_VALUE = 64  # characters of a text value (ids, card tokens, states): state keeps them, so bounded


@dataclass(frozen=True)
class Field:
    """One column of a frame: its kind, unit, accepted range or values, and whether nulls are allowed."""

    name: str
    kind: Kind
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False  # null = "not measured by this sensor", never "bad"
    required: bool = True


@dataclass(frozen=True)
class Schema:
    """The readings of one entity type; every reading carries `id` (the sensor) and `dateObserved`."""

    type: str
    domain: str
    sensor_kind: str
    fields: tuple[Field, ...]
    doc: str = ""

    @cached_property
    def columns(self) -> tuple[Field, ...]:
        return (
            Field("id", "s"),
            Field("dateObserved", "i", "ms since epoch UTC", EPOCH_MS_MIN, EPOCH_MS_MAX),
            *self.fields,
        )

    def field(self, name: str) -> Field:
        for f in self.columns:
            if f.name == name:
                return f
        raise KeyError(name)


def _f(name: str, unit: str, lo: float, hi: float, nullable: bool = False, required: bool = True) -> Field:
    return Field(name, "f", unit, lo, hi, nullable=nullable, required=required)


def _i(name: str, unit: str, lo: float, hi: float) -> Field:
    return Field(name, "i", unit, lo, hi)


def _s(name: str, *choices: str) -> Field:
    return Field(name, "s", choices=choices)


POLLUTANTS = ("pm25", "pm10", "no2", "o3", "co", "so2")

AIR_QUALITY = Schema(
    "AirQualityObserved",
    "environment",
    "air_quality",
    (
        # Ranges: physically plausible ambient maxima, well above VN_AQI's top breakpoints.
        # A station without an analyser omits the column or sends null; VN_AQI needs PM10 or PM2.5.
        _f("pm25", "µg/m³", 0, 1000, nullable=True, required=False),
        _f("pm10", "µg/m³", 0, 2000, nullable=True, required=False),
        _f("no2", "µg/m³", 0, 5000, nullable=True, required=False),
        _f("o3", "µg/m³", 0, 2000, nullable=True, required=False),
        _f("co", "µg/m³", 0, 200_000, nullable=True, required=False),
        _f("so2", "µg/m³", 0, 5000, nullable=True, required=False),
        _f("temperature", "°C", -10, 60, nullable=True, required=False),
        _f("relativeHumidity", "0..1", 0, 1, nullable=True, required=False),
    ),
    "means over the tick at an automatic air-quality station",
)

WEATHER = Schema(
    "WeatherObserved",
    "environment",
    "weather",
    (
        _f("temperature", "°C", -10, 60),
        _f("relativeHumidity", "0..1", 0, 1),
        _f("precipitation", "mm in the period", 0, 500),
        _f("windSpeed", "m/s", 0, 90),
        _f("windDirection", "° from north", 0, 360),
        _f("atmosphericPressure", "hPa", 850, 1100),
    ),
    "weather station reading over the tick",
)

WATER_LEVEL = Schema(
    "FloodMonitoring",
    "environment",
    "water_level",
    (_f("currentLevel", "m above gauge datum", -5, 20),),
    "river, tide or street water level; alert/danger levels are in the city model",
)

TRAFFIC_FLOW = Schema(
    "TrafficFlowObserved",
    "traffic",
    "traffic_detector",
    (
        _i("period", "s", 1, 3600),
        _i("intensity", "vehicles in the period", 0, 20_000),
        _i("intensityMotorcycle", "vehicles in the period", 0, 20_000),
        _i("intensityCar", "vehicles in the period", 0, 20_000),
        _i("intensityHeavy", "vehicles in the period", 0, 20_000),
        _f("occupancy", "0..1", 0, 1),
        _f("averageVehicleSpeed", "km/h", 0, 200, nullable=True),  # null when no vehicle passed
    ),
    "one lane detector over the period",
)

STREETLIGHT = Schema(
    "Streetlight",
    "lighting",
    "luminaire",
    (
        _s("powerState", "on", "off", "low", "bootingUp"),
        _s("status", "ok", "defectiveLamp", "brokenLantern", "columnIssue"),
        _f("illuminanceLevel", "0..1 of rated output", 0, 1),
        _f("powerConsumption", "W", 0, 1000),
    ),
    "one luminaire, reported by its control cabinet",
)

LIGHTING_CABINET = Schema(
    "StreetlightControlCabinet",
    "lighting",
    "lighting_cabinet",
    (
        _s("workingMode", "automatic", "manual", "semiautomatic"),
        _f("totalActivePower", "kW", 0, 500),
        _f("energyConsumed", "kWh since commissioning", 0, 1e9),
        _f("voltage", "V phase average", 0, 300),
    ),
    "control cabinet (tủ điều khiển chiếu sáng) summary",
)

HEALTH_CARD_TAP = Schema(
    "HealthCardTap",
    "health",
    "card_reader",
    (
        _s(
            "card",
        ),  # pseudonymous card token, never a citizen id
        _s("step", "register", "clinicCall", "lab", "clinicReturn", "payment", "pharmacy", "exit"),
        Field("priority", "b"),
        _i("ticket", "queue number", 0, 1_000_000),
    ),
    "a smart health-card tap at a service point (no FIWARE model; QueueMonitor is derived)",
)

SCHEMAS: dict[str, Schema] = {
    s.type: s
    for s in (AIR_QUALITY, WEATHER, WATER_LEVEL, TRAFFIC_FLOW, STREETLIGHT, LIGHTING_CABINET, HEALTH_CARD_TAP)
}
