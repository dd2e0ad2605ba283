"""City model integrity: the three areas and their wards, sensors where they belong, realistic counts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ioc.city import City, geo, load_city


@pytest.fixture(scope="module")
def city() -> City:
    return load_city()


def test_three_areas_with_the_post_2025_wards(city: City) -> None:
    wards = {a.id: [w.name for w in a.wards] for a in city.areas.values()}
    assert wards == {
        "vinh": ["Thành Vinh", "Trường Vinh", "Vinh Hưng", "Vinh Phú", "Vinh Lộc"],
        "cua-lo": ["Cửa Lò"],
        "hoang-mai": ["Hoàng Mai", "Quỳnh Mai", "Tân Mai"],
    }
    assert city.wards["truong-vinh"].population == 141_477
    assert city.wards["cua-lo"].area_km2 == 29.09


def test_every_sensor_lies_in_its_area_and_ward(city: City) -> None:
    for s in city.sensors.values():
        (south, west), (north, east) = city.areas[s.area].bbox
        assert south <= s.at[0] <= north and west <= s.at[1] <= east, s.id
        assert city.wards[s.ward].area == s.area, s.id
        assert city.ward_of(s.area, s.at) == s.ward, s.id


def test_ids_are_unique_and_groups_stay_in_one_area(city: City) -> None:
    ids = [s.id for s in city.sensors.values()]
    assert len(ids) == len(set(ids))
    for (type_, group), members in city.groups.items():
        assert len({m.area for m in members}) == 1, group
        assert {m.type for m in members} == {type_}


def test_realistic_counts(city: City) -> None:
    n = {t: city.count(t) for t in city.by_type}
    assert (
        24 <= len({s.props["site"] for s in city.sensors_of("TrafficFlowObserved")}) <= 99
    )  # dozens of sites
    assert 1_000 <= n["Streetlight"] <= 60_000  # thousands of luminaires
    assert 50 <= n["StreetlightControlCabinet"] <= 1_000
    assert 3 <= n["AirQualityObserved"] <= 12 and 3 <= n["WeatherObserved"] <= 6
    assert 3 <= n["FloodMonitoring"] <= 12
    assert len(city.hospitals) == 5
    per_area = Counter(s.area for s in city.sensors_of("AirQualityObserved"))
    assert set(per_area) == set(city.areas)  # every area shows VN_AQI on the wall


def test_luminaires_hang_under_existing_cabinets(city: City) -> None:
    cabinets = {s.id: s for s in city.sensors_of("StreetlightControlCabinet")}
    lamps = Counter(s.ref for s in city.sensors_of("Streetlight"))
    assert set(lamps) == set(cabinets)
    for cab_id, count in lamps.items():
        assert cabinets[cab_id].props["lamps"] == count
        assert 1 <= count <= 200


def test_detectors_cover_both_directions_of_every_lane(city: City) -> None:
    by_site: dict[str, set[str]] = {}
    for s in city.sensors_of("TrafficFlowObserved"):
        by_site.setdefault(s.props["site"], set()).add(f"{s.props['direction']}{s.props['lane']}")
    for site, lanes in by_site.items():
        road = city.roads[city.sensors[f"TD-{site}-A1"].ref]
        assert lanes == {f"{d}{k}" for d in "AB" for k in range(1, road.lanes + 1)}, site


def test_hospital_card_readers_cover_the_outpatient_steps(city: City) -> None:
    for h in city.hospitals.values():
        steps = {s.props["step"] for s in city.sensors_of("HealthCardTap") if s.ref == h.id}
        assert steps == {"register", "clinicCall", "lab", "payment", "pharmacy"}, h.id


def test_known_and_index_are_vectorised_lookups(city: City) -> None:
    ids = np.array(["AQ-VIN-01", "nope", "AQ-HM-02"])
    aq_groups = {g for (t, g) in city.groups if t == "AirQualityObserved"}
    group_of = {s.id: g for g in aq_groups for s in city.groups[("AirQualityObserved", g)]}
    home = group_of["AQ-VIN-01"]
    assert city.known("AirQualityObserved", home, ids).tolist() == [True, False, home == group_of["AQ-HM-02"]]
    assert city.known("AirQualityObserved", "aq.elsewhere", ids).tolist() == [False, False, False]
    assert city.known("WeatherObserved", home, ids).tolist() == [False, False, False]
    many = np.tile(ids, 12)  # past FEW_IDS: looked up by isin and remembered, with the same answer
    for _ in range(2):
        assert (
            city.known("AirQualityObserved", home, many).tolist()
            == [True, False, home == group_of["AQ-HM-02"]] * 12
        )
    idx = city.index("AirQualityObserved", ids)
    assert city.ids_of("AirQualityObserved")[idx[[0, 2]]].tolist() == ["AQ-VIN-01", "AQ-HM-02"]


def test_roads_have_plausible_lengths(city: City) -> None:
    for r in city.roads.values():
        assert 500 < r.length_m < 25_000, r.id


def test_schematic_zones_contain_their_ward_centres(city: City) -> None:
    for area in city.areas.values():
        zones = city.zones(area.id)
        for ward in area.wards:
            poly = zones[ward.id]
            assert len(poly) >= 3
            assert _inside(ward.centre, poly), ward.id


def _inside(p: geo.LatLon, poly: list[geo.LatLon]) -> bool:
    inside = False
    for (y1, x1), (y2, x2) in zip(poly, poly[1:] + poly[:1], strict=True):
        if (y1 > p[0]) != (y2 > p[0]) and p[1] < x1 + (p[0] - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_geo_distance_matches_a_known_span() -> None:
    # Vinh centre to Cửa Lò centre: 0.15° of latitude and 0.033° of longitude ≈ 17 km.
    d = geo.distance_m((18.667, 105.667), (18.817, 105.700))
    assert 16_500 < d < 17_500


def test_every_named_place_has_a_name_in_each_language(city: City) -> None:
    # Proper names keep their diacritics in English ("Cửa Lò", not "Cua Lo"); the Vietnamese name of a
    # traffic site carries no English note ("mid-block", "near", "approach").
    assert [a.name_en for a in city.areas.values()] == ["Vinh", "Cửa Lò", "Hoàng Mai"]
    for s in city.sensors.values():
        assert s.name and s.name_en, s.id
    for r in city.roads.values():
        assert r.name_en, r.id
    english = ("mid-block", "near ", "approach", "University", "Square", "residential area")
    assert not [s.name for s in city.sensors.values() if any(w in s.name for w in english)]
    assert city.sensors["TD-VIN-01-A1"].name == "Quang Trung – đoạn giữa"
    assert city.sensors["TD-VIN-01-A1"].name_en == "Quang Trung – mid-block"
    assert city.sensors["AQ-VIN-01"].name_en == "Hồ Chí Minh Square"
