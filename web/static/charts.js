// Trend charts (uPlot) of every KPI, one line per area, with VN_AQI colour bands behind the air chart: over
// the last simulated hour from the live feed, with alert markers (vertical lines in the alert's severity
// colour); or over 24 hours or 7 days from the operations record, refreshed every minute.
// uPlot is a global (a classic script before the modules).
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { SEVERITY_COLOUR } from "./map.js";
import { kpiColumns, loadKpis, timeTicks, vnDate } from "./record.js";
import { areaName } from "./store.js";
import { isActive } from "./vocabulary.js";

export const KPI_ORDER = ["traffic", "air", "flood", "lighting", "health"];
export const KPI_UNIT = { traffic: "%", air: "", flood: "", lighting: "%", health: "min" };
const AREA_COLOUR = { vinh: "#4fc3f7", "cua-lo": "#ffb74d", "hoang-mai": "#ba68c8" };
export const RULE_KPI = {
  "flood-level": "flood", "flood-rising": "flood", "air-quality": "air", "traffic-jam": "traffic",
  "traffic-anomaly": "traffic", "cabinet-offline": "lighting", "hospital-waits": "health",
};
const HOUR_MS = 3600 * 1000;
export const RANGE_MS = { "1h": HOUR_MS, "24h": 24 * HOUR_MS, "7d": 7 * 24 * HOUR_MS };
const REFRESH_MS = 60_000;

export function kpiTitle(kpi) {
  return `${t("kpi." + kpi)}${KPI_UNIT[kpi] ? " (" + KPI_UNIT[kpi] + ")" : ""}`;
}

export function kpiRange(kpi, hi) {
  const top = { traffic: 40, air: 200, flood: 3, lighting: 20, health: 120 }[kpi];
  return [0, Math.max(top, Math.ceil((hi || 0) * 1.1))];
}

export const Trends = {
  series: new Map(), // "kpi:<area>:<kpi>" → { t: [ms], v: [] }
  markers: new Map(), // alert id → { rule, severity, status, dateIssued, area }
  charts: new Map(), // kpi → uPlot
  drawnMarkers: {}, // kpi → markers drawn in the last frame (read by the browser tests)
  range: localStorage.getItem("ioc.trendRange") || "1h", // "1h" live; "24h" or "7d" from the record
  stored: null, // the last /api/history/kpis answer for the range, or { problem: status }
  drawn: null, // the answer the charts show (a stored range is drawn once per answer, not every second)
  timer: null,

  load(trends, markers) {
    this.series = new Map(Object.entries(trends || {}).map(([k, [t, v]]) => [k, { t: [...t], v: [...v] }]));
    this.markers = new Map((markers || []).map((m) => [m.id, m]));
  },

  add(item) {
    const s = this.series.get(item.key) || { t: [], v: [] };
    s.t.push(item.t);
    s.v.push(item.value);
    while (s.t.length > 1 && s.t[0] < item.t - HOUR_MS) { s.t.shift(); s.v.shift(); }
    this.series.set(item.key, s);
  },

  mark(alert) {
    this.markers.set(alert.id, { rule: alert.rule, severity: alert.severity, status: alert.status, dateIssued: alert.dateIssued, area: alert.area });
  },

  build(city) {
    const root = document.getElementById("charts");
    const switches = Object.keys(RANGE_MS).map((range) => {
      const button = el("button", { type: "button", "data-range": range, "aria-pressed": String(range === this.range) }, "");
      button.onclick = () => this.setRange(range);
      return button;
    });
    const grid = el("div", { class: "chart-grid" });
    root.replaceChildren(el("div", { class: "chart-range", role: "group" },
      el("span", { class: "caption", "data-role": "trends" }, ""), ...switches,
      el("span", { class: "note", "data-role": "range-note" }, "")), grid);
    this.areas = city.areas;
    this.bands = city.aqi_bands;
    for (const kpi of KPI_ORDER) {
      const box = el("div", { class: "chart", "data-kpi": kpi }, el("div", { class: "chart-title", "data-kpi-title": kpi }, ""));
      grid.append(box);
      const opts = {
        width: Math.max(200, box.clientWidth - 12),
        height: Math.max(120, box.clientHeight - 64),
        tzDate: vnDate,
        legend: { show: true, live: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: (u, lo, hi) => kpiRange(kpi, hi) } },
        axes: [
          { stroke: "#8da2bf", grid: { stroke: "#22344f" }, ticks: { stroke: "#22344f" }, values: (u, splits) => timeTicks(RANGE_MS[this.range])(u, splits) },
          { stroke: "#8da2bf", grid: { stroke: "#22344f" }, ticks: { stroke: "#22344f" }, size: 40 },
        ],
        series: [{}, ...city.areas.map((a) => ({
          label: areaName(a), stroke: AREA_COLOUR[a.id] || "#ccc", width: 2, spanGaps: false,
          paths: uPlot.paths.stepped({ align: 1 }), points: { show: false },
        }))],
        hooks: {
          drawClear: kpi === "air" ? [(u) => this.drawBands(u)] : [],
          draw: [(u) => this.drawMarkers(u, kpi)],
        },
      };
      this.charts.set(kpi, new uPlot(opts, [[], ...city.areas.map(() => [])], box));
    }
    this.setRange(this.range);
  },

  relabel() {
    for (const kpi of KPI_ORDER) {
      const title = document.querySelector(`[data-kpi-title="${kpi}"]`);
      if (!title) continue;
      title.textContent = `${kpiTitle(kpi)} · ${t("trendSpan." + this.range)}`;
      title.title = title.textContent; // the whole title where the chart is too narrow for it
    }
    const bar = document.querySelector("#charts .chart-range");
    if (!bar) return;
    bar.querySelector('[data-role="trends"]').textContent = t("trends");
    for (const button of bar.querySelectorAll("[data-range]")) button.textContent = t("range." + button.dataset.range);
    const problem = this.range !== "1h" && this.stored && "problem" in this.stored;
    bar.querySelector('[data-role="range-note"]').textContent = problem ? t("recordUnavailable")
      : this.range === "1h" ? t("rangeLive") : t("rangeStored");
  },

  // 1 h follows the feed; 24 h and 7 d come from the operations record, fetched now and every minute.
  setRange(range) {
    this.range = range in RANGE_MS ? range : "1h";
    localStorage.setItem("ioc.trendRange", this.range); // a wall set to a day stays so after a restart
    for (const button of document.querySelectorAll("#charts [data-range]")) button.setAttribute("aria-pressed", String(button.dataset.range === this.range));
    clearInterval(this.timer);
    this.stored = null;
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
    const got = await loadKpis({ range });
    if (range !== this.range) return; // switched meanwhile
    this.stored = got;
    this.relabel();
    this.render(this.lastNow);
  },

  // Aligned columns over the union of change times; each area's value carried forward to `now`.
  data(kpi, nowMs) {
    const per = this.areas.map((a) => this.series.get(`kpi:${a.id}:${kpi}`) || { t: [], v: [] });
    const times = [...new Set(per.flatMap((s) => s.t).filter((x) => x >= nowMs - HOUR_MS)), nowMs].sort((a, b) => a - b);
    const columns = per.map((s) => {
      let i = -1;
      return times.map((x) => {
        while (i + 1 < s.t.length && s.t[i + 1] <= x) i += 1;
        return i >= 0 ? s.v[i] : null;
      });
    });
    return [times.map((x) => x / 1000), ...columns];
  },

  render(nowMs) {
    this.lastNow = nowMs;
    if (this.range !== "1h") { this.renderStored(); return; }
    if (!nowMs) return;
    for (const [kpi, chart] of this.charts) {
      chart.setData(this.data(kpi, nowMs), false);
      chart.setScale("x", { min: (nowMs - HOUR_MS) / 1000, max: nowMs / 1000 });
    }
  },

  renderStored() {
    if (this.drawn === this.stored) return;
    this.drawn = this.stored;
    const trends = this.stored && !("problem" in this.stored) ? this.stored : null;
    const until = trends ? trends.until : Date.now();
    const since = trends ? trends.since : until - RANGE_MS[this.range];
    for (const [kpi, chart] of this.charts) {
      chart.setData(trends ? kpiColumns(trends, kpi, this.areas.map((a) => a.id)) : [[], ...this.areas.map(() => [])], false);
      chart.setScale("x", { min: since / 1000, max: until / 1000 });
    }
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

  drawMarkers(u, kpi) {
    const { ctx, bbox } = u;
    let n = 0;
    // Markers are dated in simulated time, the stored ranges in wall-clock time: only the live hour has both.
    if (this.range !== "1h") { this.drawnMarkers[kpi] = 0; return; }
    ctx.save();
    for (const m of this.markers.values()) {
      if (RULE_KPI[m.rule] !== kpi) continue;
      const sec = m.dateIssued / 1000;
      if (sec < u.scales.x.min || sec > u.scales.x.max) continue;
      const x = u.valToPos(sec, "x", true);
      ctx.strokeStyle = SEVERITY_COLOUR[m.severity] || "#fff";
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash(isActive(m.status) ? [] : [4 * devicePixelRatio, 4 * devicePixelRatio]); // dashed once over
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath(); // a small flag at the top, so a marker reads even over a busy line
      ctx.moveTo(x, bbox.top); ctx.lineTo(x + 8 * devicePixelRatio, bbox.top + 5 * devicePixelRatio); ctx.lineTo(x, bbox.top + 10 * devicePixelRatio);
      ctx.fill();
      n += 1;
    }
    ctx.restore();
    this.drawnMarkers[kpi] = n;
  },
};
