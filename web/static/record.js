// The operations record as the page reads it: KPI trends from /api/history/kpis laid out as uPlot columns,
// and a time axis in Vietnam time. KPIs are recorded by wall-clock time (when published), not simulated time.
import { api } from "./session.js";

const MINUTE_MS = 60_000;
const HM = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", hour12: false });
const DM = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit" });

// The answer of /api/history/kpis for `params` (range or since/until, area, kpi), or { problem: status }.
export async function loadKpis(params) {
  try {
    const r = await api(`/api/history/kpis?${new URLSearchParams(params)}`);
    return r.ok ? await r.json() : { problem: r.status };
  } catch (e) {
    return { problem: 0 }; // the server is restarting
  }
}

// The record's alerts for `params` (since/until in simulated ms, limit at most 500), newest raised first;
// [] when the record cannot answer.
export async function loadRecordedAlerts(params) {
  try {
    const r = await api(`/api/history/alerts?${new URLSearchParams(params)}`);
    return r.ok ? (await r.json()).alerts : [];
  } catch (e) {
    return []; // the server is restarting
  }
}

// [x seconds, one column per area] for one KPI. An area's value holds for `hold` after its bucket starts
// (the area stage publishes a KPI only when its area changes, so a missing minute means "unchanged"); a
// longer silence is drawn as a gap, not a flat line: a null where the hold runs out. The last x is the
// range's end, so a value still current reaches it.
export function kpiColumns(trends, kpi, areas) {
  const hold = Math.max(2 * trends.step_ms, 10 * MINUTE_MS);
  const per = areas.map((area) => trends.series.find((s) => s.area === area && s.kpi === kpi));
  const ends = per.flatMap((s) => (s ? s.minute.filter((m, i) => !(s.minute[i + 1] <= m + hold)).map((m) => m + hold) : []))
    .filter((x) => x < trends.until);
  const times = [...new Set([...per.flatMap((s) => (s ? s.minute : [])), ...ends, trends.until])].sort((a, b) => a - b);
  const columns = per.map((s) => {
    if (!s) return times.map(() => null);
    let i = -1;
    return times.map((x) => {
      while (i + 1 < s.minute.length && s.minute[i + 1] <= x) i += 1;
      return i >= 0 && x - s.minute[i] < hold ? s.value[i] : null;
    });
  });
  return [times.map((x) => x / 1000), ...columns];
}

// Tick labels in Vietnam time: hours and minutes, with the day once the range spans days.
export function timeTicks(spanMs) {
  return (u, splits) => splits.map((sec) => {
    const ms = sec * 1000;
    if (spanMs <= 36 * 3600e3) return HM.format(ms);
    const hm = HM.format(ms);
    return hm === "00:00" ? DM.format(ms) : `${DM.format(ms)} ${hm}`;
  });
}

// uPlot's clock for the x axis: splits fall on Vietnam's hours and days.
export function vnDate(sec) { return uPlot.tzDate(new Date(sec * 1000), "Asia/Ho_Chi_Minh"); }
