"""Recording files and replay plans: lossless entries, export/import, per-partition order, job tags, pacing
by simulated time and seeking."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ioc.ops.recording import file as recording
from ioc.ops.recording import replayer
from ioc.ops.recording.file import Entry, RecordingError
from ioc.settings import Settings


def frame(group: str, seq: int, tick: int) -> bytes:
    return orjson.dumps({"v": 1, "type": "TrafficFlowObserved", "group": group, "seq": seq, "tick": tick,
                         "cols": {"id": ["x"], "dateObserved": [tick]}})  # fmt: skip


ENTRIES = [
    Entry("raw.traffic", 0, 0, 1_000, b"tf.a", frame("tf.a", 1, 60_000)),
    Entry("raw.traffic", 1, 0, 1_001, b"tf.b", frame("tf.b", 1, 60_000)),
    Entry("raw.traffic", 0, 1, 999, b"tf.a", frame("tf.a", 2, 120_000)),  # timestamp goes back: order kept
    Entry("raw.traffic", 1, 1, 1_500, b"tf.b", b"\xff\x00 not a frame"),  # bad input is recorded as it came
    Entry("alerts", 0, 7, 1_600, None, None),
]


def test_entries_survive_the_file_and_export_import(tmp_path: Path) -> None:
    path = tmp_path / "a.ioc"
    writer = recording.Writer(path, {"namespace": "ioc", "topics": ["raw.traffic", "alerts"]})
    writer.write(ENTRIES)
    writer.close()
    header, entries = recording.read(path)
    assert header["namespace"] == "ioc" and list(entries) == ENTRIES
    assert writer.size == path.stat().st_size
    assert recording.export_jsonl(path, tmp_path / "a.jsonl") == len(ENTRIES)
    assert recording.import_jsonl(tmp_path / "a.jsonl", tmp_path / "b.ioc") == len(ENTRIES)
    assert list(recording.read(tmp_path / "b.ioc")[1]) == ENTRIES


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text('{"format": "something-else"}\n')
    with pytest.raises(RecordingError):
        recording.import_jsonl(tmp_path / "x.jsonl", tmp_path / "x.ioc")


def test_plan_keeps_partition_order_tags_frames_and_paces_by_simulated_time() -> None:
    items = replayer.plan(ENTRIES, {"raw.traffic"}, "job42")
    assert [(i.partition, i.key) for i in items] == [(0, b"tf.a"), (0, b"tf.a"), (1, b"tf.b"), (1, b"tf.b")]
    assert [orjson.loads(i.value)["seq"] for i in items[:3]] == [1, 2, 1]
    assert {orjson.loads(i.value)["job"] for i in items[:3]} == {"job42"}
    assert items[3].value == b"\xff\x00 not a frame"  # unchanged: it will be dead-lettered as before
    assert [i.sim_ms for i in items] == [60_000, 120_000, 120_000, 120_000]  # running max of ticks


def test_player_releases_records_as_simulated_time_passes_and_seeks() -> None:
    items = [replayer.Item("raw.traffic", 0, b"k", b"{}", t) for t in (0, 60_000, 120_000, 180_000)]
    now = [100.0]
    player = replayer.Player(Settings(), items, "j", speed=60.0, clock=lambda: now[0])
    anchor = (100.0, 0)
    assert player._due(anchor) == 1  # at the start only the first record is due
    now[0] = 101.0  # one real second at ×60 = one simulated minute
    assert player._due(anchor) == 2
    now[0] = 101.5
    assert player._wait_s((100.0, 0)) == pytest.approx(0.001)  # position 0 is overdue: no wait
    player.position = 2
    assert player._wait_s(anchor) == pytest.approx(0.2)  # capped nap, so pause and seek stay prompt
    player.seek(60_001)
    assert player._seek == 2
    fast = replayer.Player(Settings(), items, "j", speed=None)
    assert fast._due(anchor) == 4


def test_player_obeys_commands_for_its_own_job_only_and_reports_its_status() -> None:
    items = [replayer.Item("raw.traffic", 0, b"k", b"{}", t) for t in (0, 60_000, 120_000, 180_000)]
    player = replayer.Player(Settings(), items, "j", speed=10.0)
    assert player.obey({"action": "pause", "job": "j"}) and player.paused
    assert not player.obey({"action": "resume", "job": "other"}) and player.paused  # another replay's
    assert player.obey({"action": "resume"}) and not player.paused  # no job named: the one playing
    assert player.obey({"action": "seek", "sim_ms": 120_000}) and player._seek == 2
    for bad in ({"action": "seek"}, {"action": "seek", "sim_ms": True}, {"action": "rewind"}, {}):
        assert not player.obey(bad), bad
    player.position = 3
    status = player.status("paused")
    assert {k: status[k] for k in ("kind", "job", "speed", "state", "sim_ms", "position", "records")} == {
        "kind": "replay", "job": "j", "speed": 10.0, "state": "paused", "sim_ms": 180_000, "position": 3,
        "records": 4,
    }  # fmt: skip
