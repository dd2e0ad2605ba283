// The alert list's rows: alerts filtered by area, domain, status and severity, and alerts of one rule on the
// lanes of one approach (the city model's lane detectors: site and direction) gathered into one row.
// No DOM here: alerts.js draws what these return.
import { t, tf } from "./i18n.js";
import { wall } from "./store.js";
import { rank, vocabulary } from "./vocabulary.js";

export const FILTER_KEY = "ioc.alertFilter";

// { area, domain, status: "" = any; severities: [] = any }, as this browser last had it.
export function loadFilter() {
  const empty = { area: "", domain: "", status: "", severities: [] };
  try {
    const kept = JSON.parse(localStorage.getItem(FILTER_KEY) || "{}");
    return { ...empty, ...kept, severities: Array.isArray(kept.severities) ? kept.severities : [] };
  } catch (e) {
    return empty;
  }
}

export function saveFilter(filter) { localStorage.setItem(FILTER_KEY, JSON.stringify(filter)); }

export function isFiltered(f) { return Boolean(f.area || f.domain || f.status || f.severities.length); }

// Whether an alert passes the filter (its severity left out when `bySeverity` is false: the counts).
export function passes(a, f, bySeverity = true) {
  return (!f.area || a.area === f.area) && (!f.domain || a.domain === f.domain)
    && (!f.status || a.status === f.status)
    && (!bySeverity || !f.severities.length || f.severities.includes(a.severity));
}

// Severity → how many alerts pass the other filters: the counts beside the severity buttons.
export function severityCounts(alerts, f) {
  const counts = Object.fromEntries(vocabulary.severities.map((s) => [s, 0]));
  for (const a of alerts) if (passes(a, f, false)) counts[a.severity] = (counts[a.severity] || 0) + 1;
  return counts;
}

// A lane detector's place in the city model: { approach, lane }, or null for any other site.
export function laneOf(entity) {
  const site = wall.siteById.get(entity);
  return site && site.approach ? { approach: site.approach, lane: site.lane } : null;
}

// "direction A, lane 2" for a lane detector, "" otherwise.
export function laneText(entity) {
  const lane = laneOf(entity);
  return lane ? tf("lane", { direction: lane.approach.slice(-1), lane: lane.lane }) : "";
}

export function directionText(entity) {
  const lane = laneOf(entity);
  return lane ? tf("direction", { direction: lane.approach.slice(-1) }) : "";
}

function groupKey(a) {
  const lane = laneOf(a.entity);
  return `${a.rule}|${lane ? lane.approach : a.entity}`;
}

const isCleared = (a) => a.status === "cleared";
const byLane = (a, b) => ((laneOf(a.entity) || {}).lane || 0) - ((laneOf(b.entity) || {}).lane || 0) || a.entity.localeCompare(b.entity);

// Rows: { key, alerts (by lane), worst (the most severe alert not cleared, else any), newest, cleared }, the
// rows still needing action first, then most severe, then newest.
export function groupAlerts(alerts) {
  const groups = new Map();
  for (const a of alerts) {
    const key = groupKey(a);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(a);
  }
  const rows = [...groups].map(([key, list]) => {
    list.sort(byLane);
    const live = list.filter((a) => !isCleared(a));
    const worst = (live.length ? live : list).reduce((w, a) => (rank(a.severity) > rank(w.severity) ? a : w));
    return { key, alerts: list, worst, newest: Math.max(...list.map((a) => a.dateIssued)), cleared: !live.length };
  });
  return rows.sort((x, y) => x.cleared - y.cleared || rank(y.worst.severity) - rank(x.worst.severity) || y.newest - x.newest);
}

// A group's status: the one its alerts share, else "mixed".
export function groupStatus(row) {
  const statuses = new Set(row.alerts.map((a) => a.status));
  return statuses.size === 1 ? row.alerts[0].status : "mixed";
}

// "2 mới · 1 đã xác nhận": how many of a group's alerts are in each status, in the lifecycle's order.
export function statusSummary(row) {
  return vocabulary.alertStatuses
    .map((s) => [s, row.alerts.filter((a) => a.status === s).length])
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${t("status." + s)}`)
    .join(" · ");
}
