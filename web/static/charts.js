// Trend charts (uPlot) of every KPI, one step line per area, with VN_AQI colour bands behind the air chart.
// 1 h, live from the feed: a KPI is published only when its value changes, so each area's line carries its
// last known value, from the window's left edge (the value in force then) to "now" (the IOC clock the page
// shows); once the sensors behind it have been silent for STALE_MS the line stops at their last report, and
// an area with no value draws nothing (the chart's legend says which). The alerts of each chart's KPI
// (RULE_KPI) are translucent bands in the severity's colour from raise to clear or resolve (to now while
// open), with a marker at the raise. 24 h and 7 d come from the operations record, refreshed every minute;
// alerts are drawn there only while the page's clock is live at ×1: they carry simulated time, the record's
// KPIs wall-clock time.
// uPlot is a global (a classic script before the modules).
import { el } from "./dom.js";
import { t, tf } from "./i18n.js";
import { SEVERITY_COLOUR } from "./map.js";
import { kpiColumns, loadKpis, loadRecordedAlerts, timeTicks, vnDate } from "./record.js";
import { api } from "./session.js";
import { areaName, vnTime, wall } from "./store.js";
import { isActive, vocabulary } from "./vocabulary.js";

export const KPI_ORDER = ["traffic", "air", "flood", "lighting", "health"];
export const KPI_UNIT = { traffic: "%", air: "", flood: "", lighting: "%", health: "min" };
const AREA_COLOUR = { vinh: "#4fc3f7", "cua-lo": "#ffb74d", "hoang-mai": "#ba68c8" };
export const RULE_KPI = {
  "flood-level": "flood", "flood-rising": "flood", "air-quality": "air", "traffic-jam": "traffic",
  "traffic-anomaly": "traffic", "cabinet-offline": "lighting", "hospital-waits": "health",
};
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
export const RANGE_MS = { "1h": HOUR_MS, "24h": 24 * HOUR_MS, "7d": 7 * 24 * HOUR_MS };
const REFRESH_MS = 60_000;
// A KPI's line stops once every sensor behind it has been silent this long (simulated time): they report
// every simulated minute (hospital taps every 30 s), so fifteen missed reports mean the value shown is no
// longer known to hold. Until then a value that does not change is carried to now.
export const STALE_MS = 15 * MINUTE_MS;
// The item kind whose readings each KPI is computed from (processors/kpi.py, KpiBoard.observe): their times
// tell a KPI that holds still from one that is no longer measured.
const KPI_INPUT = { traffic: "traffic", air: "aqi", flood: "water", lighting: "lighting", health: "hospital" };
const RAISE_STEP = "raise"; // the first step of an alert's history (ioc/contract/documents.py)
const BAND_ALPHA = 0.22;
// On 24 h / 7 d, alerts are placed only while the page's clock is live at ×1 and this close to the wall
// clock: then simulated time (the alerts') and wall-clock time (the record's KPIs) are one axis.
const CLOCK_AGREE_MS = 5 * MINUTE_MS;
// A snapshot's alert markers carry no history: the closed alerts raised up to this long before the hour are
// fetched with theirs, so their bands end where they were cleared.
const CLOSED_LOOKBACK_MS = 6 * HOUR_MS;

const FONT_FAMILY = '"Segoe UI", "Noto Sans", Roboto, Arial, sans-serif'; // wall.css's
const AXIS_REM = 0.75;
const KIOSK_AXIS_REM = 1.375; // the wall's smallest type (wall.css, .kiosk)

function remPx() { return parseFloat(getComputedStyle(document.documentElement).fontSize); }
export function axisFontPx() { return Math.round(remPx() * (wall.kiosk ? KIOSK_AXIS_REM : AXIS_REM)); }

export function kpiTitle(kpi) {
  return `${t("kpi." + kpi)}${KPI_UNIT[kpi] ? " (" + KPI_UNIT[kpi] + ")" : ""}`;
}

export function kpiRange(kpi, hi) {
  const top = { traffic: 40, air: 200, flood: 3, lighting: 20, health: 120 }[kpi];
  return [0, Math.max(top, Math.ceil((hi || 0) * 1.1))];
}

// The index of the last of the ascending times `ts` at or before x, or -1.
function lastAtOrBefore(ts, x) {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo - 1;
}

// One area's line over [from, end] from its changes { t, v }: the value in force at `from` (when known),
// each change up to `end`, and the last value again at `end`, so a value that holds still is a flat line.
export function carried(s, from, end) {
  if (end < from) return [];
  const i = lastAtOrBefore(s.t, from);
  const out = i >= 0 ? [[from, s.v[i]]] : [];
  for (let k = i + 1; k < s.t.length && s.t[k] <= end; k += 1) out.push([s.t[k], s.v[k]]);
  if (out.length && out[out.length - 1][0] < end) out.push([end, out[out.length - 1][1]]);
  return out;
}

// uPlot's columns from one line per area: x (seconds) over the union of their times and `now`; a column
// holds its line's value between the line's first and last point, null elsewhere (a gap, not a line).
export function aligned(lines, now) {
  const xs = [...new Set([...lines.flatMap((line) => line.map((p) => p[0])), now])].sort((a, b) => a - b);
  const columns = lines.map((line) => {
    const ts = line.map((p) => p[0]);
    return xs.map((x) => (ts.length && x >= ts[0] && x <= ts[ts.length - 1] ? line[lastAtOrBefore(ts, x)][1] : null));
  });
  return [xs.map((x) => x / 1000), ...columns];
}

function closes(action) { return vocabulary.alertStatuses.includes(action) && !isActive(action); }

// When an alert was open, [[from, to, or null while open], ...], from its history (raised, cleared, raised
// again, resolved); without one (a snapshot's marker) from its raise while active, else unknown (null).
export function openSpans(alert) {
  if (!Array.isArray(alert.history)) return isActive(alert.status) ? [[alert.dateIssued, null]] : null;
  const spans = [];
  let open = null;
  for (const step of alert.history) {
    if (open === null && (step.action === RAISE_STEP || isActive(step.action))) {
      open = spans.length ? step.at : alert.dateIssued;
    } else if (open !== null && closes(step.action)) {
      spans.push([open, step.at]);
      open = null;
    }
  }
  if (open !== null) spans.push([open, null]);
  return spans;
}

// A recorded alert (/api/history/alerts) as a marker: open from its raise to its last transition once over.
function recordedMarker(a) {
  const spans = [[a.raised_at, isActive(a.status) ? null : a.updated_at]];
  return { rule: a.rule, severity: a.severity, status: a.status, dateIssued: a.raised_at, area: a.area, spans };
}

export const Trends = {
  series: new Map(), // "kpi:<area>:<kpi>" → { t: [ms], v: [] }, simulated time
  markers: new Map(), // alert id → { rule, severity, status, dateIssued, area, spans }
  recorded: null, // the record's alerts of the stored range (id → marker), or null when not placed
  charts: new Map(), // kpi → uPlot
  // What the last frame drew (read by the browser tests): kpi → the number of raise markers; kpi → the
  // alert bands { id, rule, severity, colour, from, to (ms), x0, x1 (canvas px) }; kpi → area → its state.
  drawnMarkers: {},
  drawnBands: {},
  states: {},
  shown: {}, // kpi → { bands, raises } of the frame being drawn
  legends: {}, // kpi → what its legend shows, so it is rebuilt only on a change
  range: localStorage.getItem("ioc.trendRange") || "1h", // "1h" live; "24h" or "7d" from the record
  stored: null, // the last /api/history/kpis answer for the range, or { problem: status }
  drawn: null, // the answer the charts show (a stored range is drawn once per answer, not every second)
  timer: null,
  placedFor: false, // whether alerts could be placed when the stored range was last fetched
  fetching: false,

  load(trends, markers) {
    this.series = new Map(Object.entries(trends || {}).map(([k, [ts, vs]]) => [k, { t: [...ts], v: [...vs] }]));
    this.markers = new Map((markers || []).map((m) => [m.id, { ...m, spans: openSpans(m) }]));
    this.fetchClosed();
  },

  add(item) {
    const s = this.series.get(item.key) || { t: [], v: [] };
    s.t.push(item.t);
    s.v.push(item.value);
    // The last change before the hour stays: it is the value in force at the window's left edge.
    while (s.t.length > 1 && s.t[1] <= item.t - HOUR_MS) { s.t.shift(); s.v.shift(); }
    this.series.set(item.key, s);
  },

  mark(alert) {
    const held = this.markers.get(alert.id);
    const spans = openSpans(alert) ?? (held ? held.spans : null);
    this.markers.set(alert.id, { rule: alert.rule, severity: alert.severity, status: alert.status, dateIssued: alert.dateIssued, area: alert.area, spans });
  },

  // The closed alerts of the snapshot's hour, with their histories (the active ones come with the snapshot).
  async fetchClosed() {
    await Promise.resolve(); // the snapshot's clock is set after load(): read it once the message is handled
    const since = Math.max(0, wall.simTime - HOUR_MS - CLOSED_LOOKBACK_MS);
    const closed = vocabulary.alertStatuses.filter((s) => !isActive(s)).map((s) => ["status", s]);
    const params = new URLSearchParams([...closed, ["since", String(since)], ["limit", "500"]]);
    try {
      const r = await api(`/api/alerts?${params}`);
      if (!r.ok) return;
      for (const a of (await r.json()).alerts) {
        const held = this.markers.get(a.id);
        if (RULE_KPI[a.rule] && !(held && held.spans)) this.mark(a);
      }
    } catch (e) { /* the server is restarting: a new snapshot follows */ }
  },

  build(city) {
    const root = document.getElementById("charts");
    const switches = Object.keys(RANGE_MS).map((range) => {
      const button = el("button", { type: "button", "data-range": range, "aria-pressed": String(range === this.range) }, "");
      button.onclick = () => this.setRange(range);
      return button;
    });
    const grid = el("div", { class: "chart-grid" });
    // The areas' colours once for all charts (the wall across the room has no room for them under each).
    const keys = city.areas.map((a) => el("span", { class: "key", "data-area": a.id },
      el("i", { class: "swatch", style: `background:${AREA_COLOUR[a.id] || "#ccc"}` }), el("span", { "data-role": "area-name" }, "")));
    root.replaceChildren(el("div", { class: "chart-range", role: "group" },
      el("span", { class: "caption", "data-role": "trends" }, ""), ...switches,
      el("span", { class: "note", "data-role": "range-note" }, ""), el("span", { class: "area-keys" }, ...keys)), grid);
    this.city = city;
    this.areas = city.areas;
    this.bands = city.aqi_bands;
    for (const kpi of KPI_ORDER) {
      const box = el("div", { class: "chart", "data-kpi": kpi }, el("div", { class: "chart-title", "data-kpi-title": kpi }, kpiTitle(kpi)));
      grid.append(box);
      this.charts.set(kpi, new uPlot(this.options(kpi, box, city), [[], ...city.areas.map(() => [])], box));
      box.append(el("div", { class: "chart-legend", "data-role": "legend" }), el("div", { class: "chart-note", "data-role": "chart-note" }));
    }
    this.setRange(this.range);
  },

  options(kpi, box, city) {
    // uPlot draws its axes on a canvas in px: their type follows the page's (rem, larger on the wall).
    const px = axisFontPx();
    const axis = { stroke: "#8da2bf", grid: { stroke: "#22344f" }, ticks: { stroke: "#22344f" }, font: `${px}px ${FONT_FAMILY}` };
    // Under the plot a legend line or two and a note; on the wall only the areas without data are named.
    const below = box.querySelector(".chart-title").offsetHeight + (wall.kiosk ? 4 : 4.5) * remPx();
    return {
      width: Math.max(200, box.clientWidth - 12),
      height: Math.max(110, box.clientHeight - below),
      tzDate: vnDate,
      legend: { show: false }, // the chart's own legend below says what each line's state is
      cursor: { show: false },
      scales: { x: { time: true }, y: { range: (u, lo, hi) => kpiRange(kpi, hi) } },
      axes: [{ ...axis, size: Math.round(px * 2.2), values: (u, splits) => timeTicks(RANGE_MS[this.range])(u, splits) },
        { ...axis, size: Math.round(px * 3.4) }],
      series: [{}, ...city.areas.map((a) => ({
        label: areaName(a), stroke: AREA_COLOUR[a.id] || "#ccc", width: 2, spanGaps: false,
        paths: uPlot.paths.stepped({ align: 1 }), points: { show: false },
      }))],
      hooks: {
        drawClear: [(u) => { if (kpi === "air") this.drawBands(u); this.drawAlertBands(u, kpi); }],
        draw: [(u) => this.drawRaises(u, kpi)],
      },
    };
  },

  // The screen changed size (a window made full screen on the wall): the charts are drawn again to fit it,
  // their axes' type with the page's.
  resize() {
    if (!this.city) return;
    for (const u of this.charts.values()) u.destroy();
    this.charts.clear();
    this.build(this.city); // which sets the range again: relabelled and drawn at once
  },

  relabel() {
    for (const kpi of KPI_ORDER) {
      const title = document.querySelector(`[data-kpi-title="${kpi}"]`);
      if (!title) continue;
      title.textContent = wall.kiosk ? kpiTitle(kpi) : `${kpiTitle(kpi)} · ${t("trendSpan." + this.range)}`;
      title.title = title.textContent; // the whole title where the chart is too narrow for it
    }
    this.legends = {};
    for (const kpi of KPI_ORDER) this.legend(kpi);
    this.notes();
    const bar = document.querySelector("#charts .chart-range");
    if (!bar) return;
    bar.querySelector('[data-role="trends"]').textContent = wall.kiosk ? `${t("trends")} · ${t("trendSpan." + this.range)}` : t("trends");
    for (const key of bar.querySelectorAll(".area-keys .key")) {
      key.querySelector('[data-role="area-name"]').textContent = areaName(this.areas.find((a) => a.id === key.dataset.area));
    }
    for (const button of bar.querySelectorAll("[data-range]")) button.textContent = t("range." + button.dataset.range);
    const problem = this.range !== "1h" && this.stored && "problem" in this.stored;
    bar.querySelector('[data-role="range-note"]').textContent = problem ? t("recordUnavailable")
      : this.range === "1h" ? t("rangeLive") : t("rangeStored");
  },

  // Under each chart of a stored range: why its alerts are not drawn, when they cannot be placed.
  notes() {
    const unplaced = this.range !== "1h" && !this.recorded;
    for (const note of document.querySelectorAll('#charts [data-role="chart-note"]')) {
      note.textContent = unplaced ? t("chart.alertsUnplaced") : "";
      note.title = unplaced ? t("chart.alertsUnplacedWhy") : "";
    }
    for (const kpi of KPI_ORDER) this.fit(kpi);
  },

  // 1 h follows the feed; 24 h and 7 d come from the operations record, fetched now and every minute.
  setRange(range) {
    this.range = range in RANGE_MS ? range : "1h";
    localStorage.setItem("ioc.trendRange", this.range); // a wall set to a day stays so after a restart
    for (const button of document.querySelectorAll("#charts [data-range]")) button.setAttribute("aria-pressed", String(button.dataset.range === this.range));
    clearInterval(this.timer);
    this.stored = null;
    this.recorded = null;
    this.drawn = undefined; // so the live hour is cleared at once, before the record answers
    if (this.range !== "1h") {
      this.fetchStored();
      this.timer = setInterval(() => this.fetchStored(), REFRESH_MS);
    }
    this.relabel();
    this.render(this.lastNow);
  },

  async fetchStored() {
    const range = this.range;
    this.placedFor = this.alertsPlaceable();
    this.fetching = true;
    const got = await loadKpis({ range });
    const placed = this.placedFor && !("problem" in got);
    const alerts = placed ? await loadRecordedAlerts({ since: got.since, until: got.until, limit: 500 }) : null;
    this.fetching = false;
    if (range !== this.range) return; // switched meanwhile
    this.recorded = alerts && this.recordedMarkers(alerts);
    this.stored = got;
    this.relabel();
    this.render(this.lastNow);
  },

  // The record's alerts of the range, and the alerts open now that were raised before it.
  recordedMarkers(alerts) {
    const out = new Map(alerts.map((a) => [a.id, recordedMarker(a)]));
    for (const [id, m] of this.markers) if (!out.has(id) && isActive(m.status)) out.set(id, m);
    return out;
  },

  // Alerts carry simulated time, the record's KPIs wall-clock time: the same axis only live at ×1.
  alertsPlaceable() {
    const m = wall.mode;
    return Boolean(m && m.kind === "live" && m.speed === 1 && this.lastNow && Math.abs(this.lastNow - Date.now()) < CLOCK_AGREE_MS);
  },

  render(nowMs) {
    this.lastNow = nowMs;
    if (this.range !== "1h") {
      if (this.stored && !this.fetching && this.alertsPlaceable() !== this.placedFor) this.fetchStored(); // the clock changed
      this.renderStored();
      return;
    }
    if (!nowMs) return;
    const heard = this.heardTimes();
    this.prune(nowMs - HOUR_MS);
    for (const [kpi, chart] of this.charts) {
      const { data, states } = this.live(kpi, nowMs, heard);
      this.states[kpi] = states;
      chart.setData(data, false);
      chart.setScale("x", { min: (nowMs - HOUR_MS) / 1000, max: nowMs / 1000 });
      this.legend(kpi);
    }
  },

  // The hour's columns of one KPI and each area's state: "nodata" (no value at all), "stale" (its sensors
  // silent for more than STALE_MS: the line stops at their last report) or "live" (carried to now).
  live(kpi, nowMs, heard) {
    const states = {};
    const lines = this.areas.map((a) => {
      const s = this.known(`kpi:${a.id}:${kpi}`);
      if (!s.t.length) { states[a.id] = { state: "nodata" }; return []; }
      // The sensors' last report when they are known: the wall stamps an unchanged KPI again every minute
      // (it is still computed), which says nothing about whether its inputs still arrive.
      const sensors = heard.get(`${a.id}:${KPI_INPUT[kpi]}`);
      const last = sensors !== undefined ? sensors : s.t[s.t.length - 1];
      const stale = nowMs - last > STALE_MS;
      states[a.id] = stale ? { state: "stale", since: last } : { state: "live" };
      return carried(s, nowMs - HOUR_MS, stale ? last : nowMs);
    });
    return { data: aligned(lines, nowMs), states };
  },

  // An area KPI's changes: the hour's trend from the feed, then the current item (the tile's value), which
  // the snapshot carries even when the KPI last changed more than an hour ago and the trend holds no point.
  known(key) {
    const s = this.series.get(key) || { t: [], v: [] };
    const item = wall.items.get(key);
    if (!item || item.value == null) return s;
    const at = item.t || 0;
    if (s.t.length && s.t[s.t.length - 1] >= at) return s;
    return { t: [...s.t, at], v: [...s.v, item.value] };
  },

  // "<area>:<kind>" → the newest reading's time among the wall's items: whether a KPI's sensors still report.
  heardTimes() {
    const heard = new Map();
    for (const item of wall.items.values()) {
      if (!item.area || typeof item.t !== "number") continue;
      const key = `${item.area}:${item.kind}`;
      if (!(heard.get(key) >= item.t)) heard.set(key, item.t);
    }
    return heard;
  },

  // Markers that no longer reach into the hour are forgotten.
  prune(from) {
    for (const [id, m] of this.markers) {
      const ends = m.spans ? m.spans.map((s) => s[1]) : [m.dateIssued];
      if (m.dateIssued < from && ends.every((end) => end !== null && end < from)) this.markers.delete(id);
    }
  },

  renderStored() {
    if (this.drawn === this.stored) return;
    this.drawn = this.stored;
    const trends = this.stored && !("problem" in this.stored) ? this.stored : null;
    const until = trends ? trends.until : Date.now();
    const since = trends ? trends.since : until - RANGE_MS[this.range];
    for (const [kpi, chart] of this.charts) {
      const data = trends ? kpiColumns(trends, kpi, this.areas.map((a) => a.id)) : [[], ...this.areas.map(() => [])];
      this.states[kpi] = Object.fromEntries(this.areas.map((a, i) => [a.id, { state: data[i + 1].some((v) => v != null) ? "data" : "nodata" }]));
      chart.setData(data, false);
      chart.setScale("x", { min: since / 1000, max: until / 1000 });
      this.legend(kpi);
    }
  },

  // Under each chart: every area's colour and state (no data; stale since when), and the alert band.
  legend(kpi) {
    const box = document.querySelector(`.chart[data-kpi="${kpi}"] [data-role="legend"]`);
    const states = this.states[kpi] || {};
    const shown = JSON.stringify(states);
    if (!box || this.legends[kpi] === shown) return;
    this.legends[kpi] = shown;
    // Before the first snapshot nothing is known yet: the keys name the areas and claim no state.
    const unknown = { state: wall.snapshots ? "nodata" : "pending" };
    const keys = this.areas.map((a) => {
      const s = states[a.id] || unknown;
      const text = s.state === "nodata" ? t("chart.noData")
        : s.state === "stale" ? tf("chart.stale", { time: vnTime(s.since).slice(0, 5) }) : "";
      return el("span", { class: "key", "data-area": a.id, "data-state": s.state, title: `${areaName(a)} ${text}`.trim() },
        el("i", { class: "swatch", style: `background:${AREA_COLOUR[a.id] || "#ccc"}` }),
        areaName(a), ...(text ? [el("em", {}, text)] : []));
    });
    const band = el("span", { class: "key band", title: t("chart.bandWhy") }, el("i", { class: "swatch" }), t("chart.band"));
    // On the wall one line says so when no area has data yet (a chart's foot has room for one or two).
    const none = wall.kiosk && wall.snapshots > 0 && this.areas.every((a) => !states[a.id] || states[a.id].state === "nodata");
    box.replaceChildren(...(none ? [el("span", { class: "key", "data-state": "nodata" }, el("em", {}, t("chart.noData")))] : keys), band);
    this.fit(kpi);
  },

  // The plot takes the height the chart's title, legend and note leave it: a legend that wraps to another
  // line (some areas without data or stale, on the wall's larger type) must not push the foot out of view.
  fit(kpi) {
    const u = this.charts.get(kpi);
    const box = document.querySelector(`.chart[data-kpi="${kpi}"]`);
    if (!u || !box) return;
    const style = getComputedStyle(box);
    const pad = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const others = [...box.children].filter((c) => c !== u.root).reduce((h, c) => h + c.offsetHeight, 0);
    const height = Math.max(60, Math.floor(box.clientHeight - pad - others));
    if (height !== u.height) u.setSize({ width: u.width, height });
  },

  drawBands(u) {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.globalAlpha = 0.22;
    for (const b of this.bands) {
      const top = u.valToPos(Math.min(b.hi, u.scales.y.max), "y", true);
      const bottom = u.valToPos(Math.max(b.lo, u.scales.y.min), "y", true);
      if (bottom <= top) continue;
      ctx.fillStyle = b.color;
      ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
    }
    ctx.restore();
  },

  // What a chart shows of its alerts within [lo, hi] (ms on its axis): bands from raise to clear or resolve
  // (to the chart's end while open) and the raises.
  alertsIn(kpi, lo, hi) {
    const source = this.range === "1h" ? this.markers : this.recorded || new Map();
    const bands = [];
    const raises = [];
    for (const [id, m] of source) {
      if (RULE_KPI[m.rule] !== kpi) continue;
      const colour = SEVERITY_COLOUR[m.severity] || "#fff";
      for (const [from, to] of m.spans || []) {
        const end = to ?? hi;
        if (end >= lo && from <= hi) bands.push({ id, rule: m.rule, severity: m.severity, colour, from: Math.max(from, lo), to: Math.min(end, hi) });
      }
      if (m.dateIssued >= lo && m.dateIssued <= hi) raises.push({ colour, at: m.dateIssued, open: isActive(m.status) });
    }
    return { bands, raises };
  },

  // Beneath the grid and the lines: each alert's band, translucent in its severity's colour.
  drawAlertBands(u, kpi) {
    const { min, max } = u.scales.x;
    this.shown[kpi] = min == null ? { bands: [], raises: [] } : this.alertsIn(kpi, min * 1000, max * 1000);
    const { ctx, bbox } = u;
    ctx.save();
    ctx.globalAlpha = BAND_ALPHA;
    this.drawnBands[kpi] = this.shown[kpi].bands.map((b) => {
      const x0 = u.valToPos(b.from / 1000, "x", true);
      const x1 = u.valToPos(b.to / 1000, "x", true);
      ctx.fillStyle = b.colour;
      ctx.fillRect(x0, bbox.top, Math.max(x1 - x0, devicePixelRatio), bbox.height);
      return { ...b, x0, x1 };
    });
    ctx.restore();
  },

  // Over the lines: a vertical line with a flag at each raise, dashed once the alert is over.
  drawRaises(u, kpi) {
    const { ctx, bbox } = u;
    const raises = (this.shown[kpi] || { raises: [] }).raises;
    const px = devicePixelRatio;
    ctx.save();
    for (const r of raises) {
      const x = u.valToPos(r.at / 1000, "x", true);
      ctx.strokeStyle = r.colour;
      ctx.fillStyle = r.colour;
      ctx.lineWidth = 2 * px;
      ctx.setLineDash(r.open ? [] : [4 * px, 4 * px]);
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.beginPath(); // a small flag at the top, so a marker reads even over a busy line
      ctx.moveTo(x, bbox.top); ctx.lineTo(x + 8 * px, bbox.top + 5 * px); ctx.lineTo(x, bbox.top + 10 * px);
      ctx.fill();
    }
    ctx.restore();
    this.drawnMarkers[kpi] = raises.length;
  },
};
