// One recorded alert's timeline: what, where and how severe; time to acknowledge and to resolve; every
// transition with who, when (Vietnam time) and comment; the operators' audited actions when the record has
// them; and the alert's area's KPI from the record around it, with the alert's steps marked.
// uPlot is a global (a classic script before the modules).
import { KPI_ORDER, RULE_KPI, kpiRange, kpiTitle } from "./charts.js";
import { el } from "./dom.js";
import { t, tf } from "./i18n.js";
import { SEVERITY_COLOUR } from "./map.js";
import { kpiColumns, loadKpis, timeTicks, vnDate } from "./record.js";
import { api } from "./session.js";
import { areaName, siteName, vnDateTime, wall } from "./store.js";
import { vocabulary } from "./vocabulary.js";

const AROUND_MS = 2 * 3600e3; // the chart's window: this long before the first step and after the last
const STEP_COLOUR = { acknowledged: "#4fc3f7", assign: "#4fc3f7", cleared: "#9e9e9e", resolved: "#2ecc71" };
const MARKED = ["raise", "raised", "acknowledged", "cleared", "resolved"];

export function duration(ms) {
  if (ms == null) return t("timeline.notYet");
  const s = Math.round(ms / 1000);
  const parts = { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60), s: s % 60 };
  return tf(parts.h ? "duration.h" : parts.m ? "duration.m" : "duration.s", parts);
}

// The KPIs of the alert's domain (vocabulary.kpiDomain), only its rule's when the rule names one of them.
function kpisOf(story) {
  const mine = KPI_ORDER.filter((kpi) => vocabulary.kpiDomain[kpi] === story.domain);
  return mine.includes(RULE_KPI[story.rule]) ? [RULE_KPI[story.rule]] : mine;
}

// A label from the language's table, or the name itself when the table lacks it (a step added since).
function named(table, name) {
  const label = t(`${table}.${name}`);
  return label === `${table}.${name}` ? name : label;
}

// A step of an alert's history in words; an operator's reopening and clearing are told apart from the
// system's (the steps are named alike: "raised", "cleared").
export function stepLabel(step) {
  if (step.action === "raised" && step.by !== "system") return t("transition.reopened");
  if (step.action === "cleared" && step.by !== "system") return t("transition.clearedByOperator");
  return named("transition", step.action);
}

function table(columns, rows) {
  return el("table", { class: "history-table" },
    el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", {}, c)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c == null ? "" : String(c)))))));
}

export const Timeline = {
  id: null,
  story: null, // the timeline as /api/history/alerts/{id} answered, or { problem: status }
  trends: new Map(), // kpi → the KPI's answer from /api/history/kpis for the window
  window: null, // [since, until], wall-clock ms
  charts: [],
  drawn: {}, // kpi → { points, values, markers: [{ action, at, x }] }: what the charts show (read by the tests)

  close() {
    this.id = null;
    this.story = null;
    this.render();
  },

  async open(id) {
    this.id = id;
    this.story = null;
    this.trends = new Map();
    this.drawn = {};
    let story;
    try {
      const r = await api(`/api/history/alerts/${encodeURIComponent(id)}`);
      story = r.ok ? await r.json() : { problem: r.status };
    } catch (e) {
      story = { problem: 0 };
    }
    if (id !== this.id) return; // another row was opened meanwhile
    this.story = story;
    this.render();
    if (story.problem || !story.area || !story.events.length) return;
    const recorded = story.events.map((e) => e.recorded_at);
    const since = Math.min(...recorded) - AROUND_MS;
    this.window = [since, Math.max(since + 60_000, Math.min(Math.max(...recorded) + AROUND_MS, Date.now()))];
    for (const kpi of kpisOf(story)) {
      const got = await loadKpis({ since: this.window[0], until: this.window[1], area: story.area, kpi });
      if (id !== this.id) return;
      this.trends.set(kpi, got);
    }
    this.drawCharts();
  },

  render() {
    const box = document.getElementById("timeline");
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
    const s = this.story;
    box.hidden = !this.id;
    if (!s) { box.replaceChildren(); return; }
    if (s.problem) {
      box.replaceChildren(el("h3", {}, t("timeline.title")), el("p", {}, t(s.problem === 404 ? "timeline.missing" : "recordUnavailable")));
      return;
    }
    const area = wall.city.areas.find((a) => a.id === s.area);
    const steps = s.events.map((e) => [vnDateTime(e.at), stepLabel(e), e.by, e.comment]);
    const parts = [
      el("h3", {}, t("timeline.title")),
      el("div", { class: "timeline-head", "data-severity": s.severity },
        el("b", {}, t("rule." + s.rule)), " · ", el("span", { title: s.entity }, siteName(s.entity)),
        " · ", area ? areaName(area) : s.area || "–", " · ", el("span", { class: "sev" }, t("severity." + s.severity)),
        " · ", el("span", { class: "alert-status" }, t("status." + s.status)), s.assignee ? ` → ${s.assignee}` : ""),
      el("dl", { class: "timeline-times" },
        el("dt", {}, t("timeline.toAcknowledge")), el("dd", { "data-role": "tta" }, duration(s.time_to_acknowledge_ms)),
        el("dt", {}, t("timeline.toResolve")), el("dd", { "data-role": "ttr" }, duration(s.time_to_resolve_ms))),
      el("h4", {}, t("timeline.transitions")),
      el("div", { "data-role": "transitions" },
        table([t("timeline.when"), t("timeline.step"), t("timeline.by"), t("timeline.comment")], steps)),
    ];
    if (Array.isArray(s.actions)) { // the audit of operator actions (a wall older than the audit sends none)
      const done = s.actions.map((a) => [vnDateTime(a.at), named("act", a.action) + (a.assignee ? ` → ${a.assignee}` : ""),
        a.by, named("role", a.role), a.source, a.comment]);
      const columns = [t("timeline.when"), t("timeline.step"), t("timeline.by"), t("timeline.role"), t("timeline.source"), t("timeline.comment")];
      parts.push(el("h4", {}, t("timeline.audit")), el("div", { "data-role": "audit" },
        done.length ? table(columns, done) : el("p", { class: "note" }, t("timeline.noActions"))));
    }
    parts.push(el("div", { "data-role": "charts" }, s.area ? "" : t("timeline.noArea")));
    box.replaceChildren(...parts);
    if (this.trends.size) this.drawCharts();
  },

  drawCharts() {
    const root = document.querySelector('#timeline [data-role="charts"]');
    if (!root) return;
    const s = this.story;
    const area = wall.city.areas.find((a) => a.id === s.area);
    for (const [kpi, trends] of this.trends) {
      const box = el("div", { class: "timeline-chart", "data-kpi": kpi },
        el("div", { class: "chart-title" }, tf("timeline.chart", { area: area ? areaName(area) : s.area, kpi: kpiTitle(kpi) })));
      root.append(box);
      if (trends.problem !== undefined) { box.append(el("p", {}, t("recordUnavailable"))); continue; }
      const data = kpiColumns(trends, kpi, [s.area]);
      if (!trends.series.length) box.append(el("p", { class: "note" }, t("timeline.noKpi")));
      const opts = {
        width: Math.max(300, box.clientWidth - 8),
        height: 200,
        tzDate: vnDate,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true, range: () => [this.window[0] / 1000, this.window[1] / 1000] }, y: { range: (u, lo, hi) => kpiRange(kpi, hi) } },
        axes: [
          { stroke: "#8da2bf", grid: { stroke: "#22344f" }, ticks: { stroke: "#22344f" }, values: timeTicks(this.window[1] - this.window[0]) },
          { stroke: "#8da2bf", grid: { stroke: "#22344f" }, ticks: { stroke: "#22344f" }, size: 40 },
        ],
        series: [{}, { label: kpiTitle(kpi), stroke: "#4fc3f7", width: 2, spanGaps: false, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
        hooks: { draw: [(u) => this.drawSteps(u, kpi)] },
      };
      this.drawn[kpi] = { points: data[0].length, values: data[1], markers: [] };
      this.charts.push(new uPlot(opts, data, box));
      box.append(el("div", { class: "note" }, t("timeline.chartNote")));
    }
  },

  // The alert's steps as vertical lines at the time each was recorded (wall-clock, like the KPI minutes), over
  // a band from the raise to the resolve (or the window's end while it is open).
  drawSteps(u, kpi) {
    const { ctx, bbox } = u;
    const s = this.story;
    const steps = s.events.filter((e) => MARKED.includes(e.action));
    const xOf = (ms) => u.valToPos(ms / 1000, "x", true);
    const raise = steps.find((e) => e.action === "raise");
    const end = steps.find((e) => e.action === "resolved");
    const dpr = devicePixelRatio;
    ctx.save();
    if (raise) {
      const left = Math.max(bbox.left, xOf(raise.recorded_at));
      const right = Math.min(bbox.left + bbox.width, end ? xOf(end.recorded_at) : bbox.left + bbox.width);
      ctx.globalAlpha = 0.15;
      ctx.fillStyle = SEVERITY_COLOUR[s.severity] || "#fff";
      if (right > left) ctx.fillRect(left, bbox.top, right - left, bbox.height);
      ctx.globalAlpha = 1;
    }
    const markers = [];
    for (const e of steps) {
      const x = xOf(e.recorded_at);
      if (x < bbox.left || x > bbox.left + bbox.width) continue;
      ctx.strokeStyle = STEP_COLOUR[e.action] || SEVERITY_COLOUR[s.severity] || "#fff";
      ctx.lineWidth = 2 * dpr;
      ctx.setLineDash(e.action === "cleared" ? [4 * dpr, 4 * dpr] : []);
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      markers.push({ action: e.action, at: e.recorded_at, x, colour: ctx.strokeStyle });
    }
    ctx.restore();
    if (this.drawn[kpi]) this.drawn[kpi].markers = markers;
  },
};
