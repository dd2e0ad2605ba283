"""Recording files and replay plans: lossless entries, export/import, per-partition order, job tags, pacing
by simulated time and seeking; the simulator's status replayed in order, re-signed, and the one in force
sent first after a seek."""

from __future__ import annotations

import asyncio
import gzip
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from ioc.clock import parse_start
from ioc.contract.documents import ReplayState, SimulatorStatus
from ioc.ops.recording import file as recording
from ioc.ops.recording import replayer
from ioc.ops.recording.file import Entry, RecordingError
from ioc.ops.recording.recorder import Progress, _tick
from ioc.settings import Settings
from ioc.signing import Keys, Signer

T_REC = parse_start("2025-10-14T17:00")


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


def test_a_file_that_is_not_a_recording_is_refused_naming_it_and_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text('{"format": "something-else"}\n')
    with pytest.raises(RecordingError, match=r"x\.jsonl: its first line is not a recording's header"):
        recording.import_jsonl(tmp_path / "x.jsonl", tmp_path / "x.ioc")
    for name, content in (("zip.ioc", b"PK\x03\x04 a zip"), ("empty.ioc", b""), ("text.ioc", b"hello\n")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(RecordingError, match=f"{name}: not a recording .* expected an ioc recording"):
            recording.read(tmp_path / name)


# Records that do not compress to nothing, so a cut lands inside records too, not only in their header.
_rng = random.Random(7)
MANY = [Entry("raw.traffic", i % 3, i, 1_000 + i, b"k%d" % i, _rng.randbytes(40)) for i in range(60)]


def written(path: Path) -> Path:
    writer = recording.Writer(path, {"namespace": "ioc", "topics": ["raw.traffic"]})
    writer.write(MANY)
    writer.close()
    return path


def read_all(path: Path) -> tuple[list[Entry], list[str]]:
    warnings: list[str] = []
    return list(recording.read(path, warnings.append)[1]), warnings


def test_plain_json_lines_and_gzip_are_told_by_their_bytes_not_their_name(tmp_path: Path) -> None:
    gz = written(tmp_path / "gz.jsonl")  # gzip under a .jsonl name
    recording.export_jsonl(gz, tmp_path / "plain.ioc")  # plain lines under a .ioc name
    assert read_all(gz) == read_all(tmp_path / "plain.ioc") == (MANY, [])
    assert recording.import_jsonl(tmp_path / "plain.ioc", tmp_path / "back.ioc") == len(MANY)


@pytest.mark.parametrize("form", ["gzip", "jsonl"])
def test_a_recording_cut_at_any_byte_is_read_up_to_its_last_complete_record(
    tmp_path: Path, form: str
) -> None:
    path = written(tmp_path / "whole.ioc")
    if form == "jsonl":
        recording.export_jsonl(path, tmp_path / "whole.jsonl")
        path = tmp_path / "whole.jsonl"
    data, cut = path.read_bytes(), tmp_path / "cut"
    header_ends = None  # the first cut that leaves the header whole
    counts = set()
    for n in range(len(data)):
        cut.write_bytes(data[:n])
        try:
            entries, warnings = read_all(cut)
        except RecordingError as exc:
            assert header_ends is None and str(exc).startswith(f"{cut}: "), (n, exc)  # only before the header
            continue
        header_ends = n if header_ends is None else header_ends
        assert entries == MANY[: len(entries)], n
        counts.add(len(entries))
        if form == "jsonl" and b"\n" in (data[n - 1 : n], data[n : n + 1]):
            assert warnings == [], n  # cut between lines or just before a newline: no record is cut
            continue
        assert warnings == [
            f"warning: {cut} is truncated after {len(entries):,} records (the recorder did not close it); "
            "reading what is complete"
            if form == "gzip"
            else f"warning: {cut} ends inside a record after {len(entries):,} records (cut short); reading "
            "what is complete"
        ], n
    assert header_ends is not None and counts == set(range(len(MANY) + 1))  # every record was last once


def test_what_a_killed_recorder_flushed_is_readable_and_import_closes_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "killed.ioc"
    writer = recording.Writer(path, {"namespace": "ioc"})
    writer.write(ENTRIES * 10)
    writer.flush()
    writer.write(ENTRIES)  # not flushed when the process dies
    killed = path.read_bytes()  # the file as a SIGKILL leaves it: never closed
    (tmp_path / "copy.ioc").write_bytes(killed)
    entries, warnings = read_all(tmp_path / "copy.ioc")
    assert entries[: len(ENTRIES) * 10] == ENTRIES * 10 and len(warnings) == 1, warnings
    assert recording.import_jsonl(tmp_path / "copy.ioc", tmp_path / "fixed.ioc", warnings.append) >= 50
    gzip.decompress((tmp_path / "fixed.ioc").read_bytes())  # gzip -t: a whole, valid file
    assert read_all(tmp_path / "fixed.ioc") == (entries, [])
    writer.close()


def test_a_line_that_is_not_a_record_inside_a_recording_is_named(tmp_path: Path) -> None:
    path = written(tmp_path / "a.ioc")
    recording.export_jsonl(path, tmp_path / "a.jsonl")
    lines = (tmp_path / "a.jsonl").read_bytes().splitlines(keepends=True)
    lines[3] = b'{"not": "a record"}\n'
    (tmp_path / "b.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(RecordingError, match=r"b.jsonl: line 4 is not a record"):
        read_all(tmp_path / "b.jsonl")


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


def status(stage: str | None, sim_ms: int, at: int, source: str = "sim-1") -> bytes:
    doc = SimulatorStatus(source=source, speed=None, sim_ms=sim_ms, phase="playing", scenario="storm",
                          title="Bão", stage=stage, stage_title=stage, at=at)  # fmt: skip
    return orjson.dumps(doc.model_dump(mode="json"))


# A scenario run as recorded: the status in force when the recording began comes before the first frame
# (an older Kafka timestamp), then frames each simulated minute and a status when a stage begins.
STATUS_RUN = [
    Entry("simulator", 0, 4, 500, b"sim-1", status("Rain", 0, 1)),
    *(Entry("raw.traffic", 0, n, 1_000 + n, b"tf.a", frame("tf.a", n, (n + 1) * 60_000)) for n in range(6)),
    Entry("simulator", 0, 5, 1_002, b"sim-1", status("Flood", 180_000, 2)),  # before the 3rd minute's frame
    Entry("simulator", 0, 6, 1_003, b"sim-1", b'{"kind": "simulator", "phase": "who knows"}'),  # not one
    Entry("simulator", 0, 7, 1_004, b"sim-2", status(None, 300_000, 3, source="sim-2")),  # another source
]


def test_the_simulators_status_is_planned_in_order_and_a_seek_finds_the_one_in_force() -> None:
    items = replayer.plan(STATUS_RUN, {"raw.traffic", "simulator"}, "j")
    assert [(i.topic, i.sim_ms) for i in items] == [
        ("simulator", 60_000),  # before the first frame: it goes with it, not at a simulated 1970
        ("raw.traffic", 60_000), ("raw.traffic", 120_000),
        ("simulator", 120_000),  # Flood
        ("raw.traffic", 180_000), ("raw.traffic", 240_000),
        ("simulator", 240_000),  # sim-2; the record that is not a status is left out
        ("raw.traffic", 300_000), ("raw.traffic", 360_000),
    ]  # fmt: skip
    assert items[0].value == STATUS_RUN[0].value  # the document as recorded (stamped when sent)
    player = replayer.Player(Settings(), items, "j", speed=60.0)

    def stages_after_seek(sim_ms: int) -> list[tuple[bytes, str | None]]:
        player.seek(sim_ms)
        assert player._seek is not None
        return [(i.key, orjson.loads(i.value)["stage"]) for i in player.in_force(player._seek)]

    assert stages_after_seek(60_000) == []  # from the start: the first status goes out in order anyway
    assert stages_after_seek(120_000) == [(b"sim-1", "Rain")]  # Flood, begun later, is sent in order
    assert stages_after_seek(180_000) == [(b"sim-1", "Flood")]
    assert stages_after_seek(360_000) == [(b"sim-1", "Flood"), (b"sim-2", None)]  # the latest of each
    assert stages_after_seek(60_001) == [(b"sim-1", "Rain")]  # back again
    # A recording without the simulator's status (or replayed without it) plays as before: nothing to send.
    plain = replayer.Player(Settings(), replayer.plan(STATUS_RUN, {"raw.traffic"}, "j"), "j", speed=60.0)
    assert [i.sim_ms for i in plain.items][:2] == [60_000, 120_000] and plain.in_force(4) == []


class Captured:
    """A BatchProducer that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, list[tuple[bytes, bytes]], list[tuple[str, bytes]]]] = []

    async def send_partition(
        self, topic: str, partition: int, records: list[tuple[bytes, bytes]], headers: Any
    ) -> list[asyncio.Future[Any]]:
        self.sent.append((topic, partition, records, list(headers)))
        return []


def test_a_replayed_status_is_signed_with_the_control_key_for_the_replay_and_stamped_when_sent() -> None:
    keys = Keys(Signer(b"document-key-0123456789"), Signer(b"control-key-0123456789"))
    items = replayer.plan(STATUS_RUN, None, "j")
    player = replayer.Player(Settings(namespace="replay-j"), items, "j", speed=None, keys=keys)
    sender = Captured()
    asyncio.run(player._send(sender, player.in_force(len(items)), [("ioc-job", b"j")]))  # type: ignore[arg-type]
    [(topic, _, [(key, value)], headers)] = [s for s in sender.sent if s[2][0][0] == b"sim-1"]
    assert topic == "replay-j.simulator" and ("ioc-job", b"j") in headers
    assert keys.control.verify(topic, key, value, headers)  # what the replay's wall accepts
    assert not keys.document.verify(topic, key, value, headers)
    doc = orjson.loads(value)
    assert doc["stage"] == "Flood" and doc["at"] > 1_700_000_000_000  # now, not the recorded 2


def test_a_seek_outside_the_recording_is_refused_saying_its_span() -> None:
    items = [
        replayer.Item("raw.traffic", 0, b"k", b"{}", t) for t in (T_REC, T_REC + 60_000, T_REC + 120_000)
    ]
    player = replayer.Player(Settings(), items, "j", speed=10.0)
    assert player.span == (T_REC, T_REC + 120_000)
    for outside in (0, T_REC - 1, T_REC + 120_001):
        with pytest.raises(ValueError, match=r"is outside the recording: 2025-10-14T17:00:00\+07:00 \.\. "):
            player.seek(outside)
        assert not player.obey({"action": "seek", "sim_ms": outside})  # from the wall: ignored, logged
    assert player._seek is None and player.pending_from == 0
    player.seek(T_REC + 60_000)
    assert player.pending_from == 1
    status = player.status(ReplayState.PLAYING)
    assert (status["sim_from"], status["sim_to"], status["stays"]) == (T_REC, T_REC + 120_000, False)


def test_a_replay_that_stays_waits_at_its_end_until_a_seek() -> None:
    items = [replayer.Item("raw.traffic", 0, b"k", b"{}", t) for t in (T_REC, T_REC + 60_000)]
    player = replayer.Player(Settings(), items, "j", speed=None, stay=True)
    player.position = len(items)
    assert player.finished and player.state == ReplayState.FINISHED

    async def wait_then_seek() -> None:
        waiting = asyncio.create_task(player._wait_at_end())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # at the end, it waits
        player.seek(T_REC)
        await asyncio.wait_for(waiting, 1)  # a seek wakes it
        assert not player.finished and player.pending_from == 0

    asyncio.run(wait_then_seek())


def test_the_recorders_summary_reads_ticks_from_a_frames_head_and_counts_whole_batches() -> None:
    assert _tick(b'{"v":1,"type":"T","group":"g","seq":1,"tick":1760432400000,"cols":{}}') == 1760432400000
    assert _tick(b'{"a\\"tick":5,"tick":7}') == 7  # a key holding an escaped "tick" is not the tick
    assert _tick(b'{"tick":1.5}') is None and _tick(b'{"tick":true}') is None and _tick(b"not json") is None
    assert _tick(b'{"cols":{"x":[1]},"tick": 9}') == 9  # not in the contract's form: parsed in full
    p = Progress()
    p.count("raw.traffic", [SimpleNamespace(timestamp=5, value=b'{"tick":30}'),
                            SimpleNamespace(timestamp=3, value=b'{"tick":10}')])  # fmt: skip
    p.count("alerts", [SimpleNamespace(timestamp=9, value=b"{}")])
    p.count("raw.traffic", [])
    assert (p.topics["raw.traffic"], p.topics["alerts"], p.first_ms, p.last_ms) == (2, 1, 3, 9)
    assert (p.sim_from, p.sim_to) == (10, 30)
