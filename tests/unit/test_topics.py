"""Topic names and layout of a namespace: what `ioc topics` and the stack create, and which are compacted."""

from __future__ import annotations

from ioc.topics import DOMAINS, Topics


def test_layout_has_checkpoints_per_raw_topic_and_area_keyed_topics_with_the_raw_partition_count() -> None:
    t = Topics("replay-7")
    layout = t.layout(6)
    for d in DOMAINS:
        assert layout[t.raw(d)] == layout[t.checkpoints(d)] == 6
        assert t.checkpoints(d) == f"replay-7.raw.{d}.checkpoints"
    assert layout[t.aggregates] == layout[t.operator_actions_by_area] == 6
    assert layout[t.alerts] == layout[t.operator_actions] == layout[t.deadletter] == 1
    compacted = {name for name in layout if Topics.is_compacted(name)}
    assert compacted == {t.alerts, t.clock, t.workers, t.simulator, *(t.checkpoints(d) for d in DOMAINS)}
    assert layout[t.clock] == layout[t.workers] == layout[t.simulator] == 1
