"""Routing keys: every indicator document and alert maps to the urban area whose worker keeps its KPIs."""

from __future__ import annotations

from ioc.contract.documents import KIND_OF_TYPE, Kind
from processors import areas
from tests.unit.simkit import city


def test_every_sensor_group_lies_in_one_area_and_documents_map_to_it() -> None:
    c = city()
    for (type_, group), sensors in c.groups.items():
        assert len({s.area for s in sensors}) == 1, (type_, group)
    kinds = {t: k for t, k in KIND_OF_TYPE.items() if k != Kind.LIGHTING}  # lighting's documents: per area
    for (type_, group), sensors in c.groups.items():
        if type_ in kinds:
            assert areas.of_document(c, {"kind": kinds[type_], "group": group}) == sensors[0].area
    assert areas.of_document(c, {"kind": "hospital", "group": "hc.hoang-mai-hc"}) == "hoang-mai"
    assert areas.of_document(c, {"kind": "lighting", "group": "cua-lo"}) == "cua-lo"
    assert areas.of_document(c, {"kind": "traffic", "group": "tf.nowhere"}) is None


def test_an_alert_id_names_its_entity_and_so_its_area() -> None:
    c = city()
    assert areas.of_alert(c, "flood-level:WL-HM-01:1760400000000") == "hoang-mai"
    assert areas.of_alert(c, "hospital-waits:hn-friendship:1760400000000") == "vinh"
    assert areas.of_alert(c, "cabinet-offline:LC-CL-025:1") == "cua-lo"
    assert areas.of_alert(c, "flood-level:NOPE:1") is None
    assert areas.of_alert(c, "garbage") is None
