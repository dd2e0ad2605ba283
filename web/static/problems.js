// /health's problems as an operator reads them: one line per kind of problem, not one per partition (a
// worker that falls behind on every partition is one problem, with its partitions named compactly, the
// records waiting summed and the earliest time it began).

// "ioc.raw.traffic:0", "ioc.raw.traffic:1", ... → "ioc.raw.traffic 0–1"
export function partitionsText(parts) {
  const byTopic = new Map();
  for (const part of parts) {
    const cut = part.lastIndexOf(":");
    const topic = cut > 0 ? part.slice(0, cut) : part;
    const n = cut > 0 ? Number(part.slice(cut + 1)) : NaN;
    if (!byTopic.has(topic)) byTopic.set(topic, []);
    if (Number.isInteger(n)) byTopic.get(topic).push(n);
  }
  return [...byTopic].map(([topic, ns]) => (ns.length ? `${topic} ${ranges(ns)}` : topic)).join(", ");
}

function ranges(ns) {
  const sorted = [...new Set(ns)].sort((a, b) => a - b);
  const out = [];
  for (const n of sorted) {
    const last = out[out.length - 1];
    if (last && n === last[1] + 1) last[1] = n; else out.push([n, n]);
  }
  return out.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(", ");
}

// [{code, since, partition?, lag?}, ...] → one entry per code: the earliest since, the partitions named
// together, the records waiting summed.
export function grouped(problems) {
  const byCode = new Map();
  for (const p of problems) {
    const held = byCode.get(p.code);
    if (!held) { byCode.set(p.code, { code: p.code, since: p.since, parts: p.partition ? [p.partition] : [], lag: p.lag ?? null }); continue; }
    if (p.since != null && (held.since == null || p.since < held.since)) held.since = p.since;
    if (p.partition) held.parts.push(p.partition);
    if (p.lag != null) held.lag = (held.lag ?? 0) + p.lag;
  }
  return [...byCode.values()].map((g) => ({ code: g.code, since: g.since, partition: partitionsText(g.parts), lag: g.lag }));
}
