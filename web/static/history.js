// The incident history view: alerts from the operations record searched by area, domain, rule, severity,
// status, entity, text and raised time, newest first, a page at a time, exported as CSV; a row opens its
// timeline. It only reads, so a viewer may use it; it covers the areas and charts, not the live alert list.
import { el, toast } from "./dom.js";
import { I18N, t, tf } from "./i18n.js";
import { api, refusalText } from "./session.js";
import { areaName, localName, siteName, vnDateTime, wall } from "./store.js";
import { Timeline } from "./timeline.js";
import { vocabulary } from "./vocabulary.js";

const PAGE = 20;
const FIELDS = ["area", "domain", "rule", "severity", "status", "entity", "q", "from", "to"];
const COLUMNS = ["raisedAt", "rule", "where", "area", "severity", "status", "assignee"];
const CLOSED = "cleared,resolved"; // the alert panel's history tab: alerts no longer on the live list

// A datetime-local value ("2025-10-14T18:00") read as Vietnam time, in ms.
function ictMs(value) { return Date.parse(`${value.slice(0, 16)}:00+07:00`); }

function choice(name, options, value) {
  const select = el("select", { name, id: `history-${name}` },
    el("option", { value: "" }, t("history.any")),
    ...options.map(([v, label]) => el("option", { value: v }, label)));
  select.value = value;
  return select;
}

function field(name, control) {
  return el("label", { class: "field", for: control.id }, el("span", {}, t("history." + name)), control);
}

function input(name, attrs, value) {
  const box = el("input", { name, id: `history-${name}`, ...attrs });
  box.value = value;
  return box;
}

export const History = {
  filters: Object.fromEntries(FIELDS.map((f) => [f, ""])),
  offset: 0,
  page: null, // the last answer: { total, offset, alerts }, or { problem: status }
  loads: 0, // answers shown (read by the browser tests)

  wire() {
    document.getElementById("history-open").onclick = () => this.open();
    document.getElementById("history-close").onclick = () => this.close();
    document.getElementById("history-prev").onclick = () => this.search(Math.max(0, this.offset - PAGE));
    document.getElementById("history-next").onclick = () => this.search(this.offset + PAGE);
    document.getElementById("history-csv").onclick = () => this.exportCsv();
  },

  open() {
    document.getElementById("history").hidden = false;
    this.renderForm();
    this.search(this.offset);
  },

  // Opened from the alert panel on a search of its own (its history tab: cleared and resolved alerts).
  openWith(filters) {
    for (const name of FIELDS) this.filters[name] = filters[name] || "";
    this.offset = 0;
    this.open();
  },

  close() {
    document.getElementById("history").hidden = true;
    Timeline.close();
  },

  isOpen() { return !document.getElementById("history").hidden; },

  // The filters as the routes' query: since/until are the raised time in simulated ms, read as Vietnam time.
  query() {
    const q = new URLSearchParams();
    for (const [name, value] of Object.entries(this.filters)) {
      const v = value.trim();
      if (!v) continue;
      if (name === "from") q.set("since", String(ictMs(v)));
      else if (name === "to") q.set("until", String(ictMs(v)));
      else if (name === "status") for (const status of v.split(",")) q.append("status", status);
      else q.set(name, v);
    }
    return q;
  },

  async search(offset) {
    const q = this.query();
    q.set("offset", String(offset));
    q.set("limit", String(PAGE));
    let page;
    try {
      const r = await api(`/api/history/alerts?${q}`);
      if (r.status === 401 || r.status === 403) toast(await refusalText(r, t("forbidden")));
      page = r.ok ? await r.json() : { problem: r.status };
    } catch (e) {
      page = { problem: 0 };
    }
    this.offset = offset;
    this.page = page;
    this.loads += 1;
    this.renderTable();
  },

  renderForm() {
    const f = this.filters;
    const domains = [...new Set(Object.values(vocabulary.kpiDomain))];
    const entity = input("entity", { type: "text", list: "history-entities", autocomplete: "off" }, f.entity);
    const sites = el("datalist", { id: "history-entities" },
      ...wall.city.sites.map((s) => el("option", { value: s.id }, localName(s))));
    const form = document.getElementById("history-form");
    const search = el("button", { type: "submit", class: "act" }, t("history.search"));
    const clear = el("button", { type: "button", "data-action": "clear" }, t("history.clear"));
    form.replaceChildren(
      field("area", choice("area", wall.city.areas.map((a) => [a.id, areaName(a)]), f.area)),
      field("domain", choice("domain", domains.map((d) => [d, t("domain." + d)]), f.domain)),
      field("rule", choice("rule", Object.keys(I18N.vi.rule).map((r) => [r, t("rule." + r)]), f.rule)),
      field("severity", choice("severity", [...vocabulary.severities].reverse().map((s) => [s, t("severity." + s)]), f.severity)),
      field("status", choice("status", [...vocabulary.alertStatuses.map((s) => [s, t("status." + s)]), [CLOSED, t("history.closed")]], f.status)),
      field("entity", entity), sites,
      field("text", input("q", { type: "search", maxlength: "200" }, f.q)),
      field("from", input("from", { type: "datetime-local", step: "60" }, f.from)),
      field("to", input("to", { type: "datetime-local", step: "60" }, f.to)),
      el("div", { class: "buttons" }, search, clear));
    form.onsubmit = (e) => {
      e.preventDefault();
      const data = new FormData(form);
      for (const name of FIELDS) this.filters[name] = String(data.get(name) || "");
      this.search(0);
    };
    clear.onclick = () => {
      for (const name of FIELDS) this.filters[name] = "";
      this.renderForm();
      this.search(0);
    };
  },

  renderTable() {
    const page = this.page;
    document.querySelector("#history-table thead tr").replaceChildren(...COLUMNS.map((c) => el("th", {}, t("history." + c))));
    const rows = page && page.alerts ? page.alerts : [];
    const body = document.querySelector("#history-table tbody");
    body.replaceChildren(...rows.map((a) => this.row(a)));
    if (page && page.alerts && !rows.length) body.append(el("tr", {}, el("td", { colspan: String(COLUMNS.length), class: "none" }, t("history.none"))));
    const total = page && page.alerts ? page.total : 0;
    document.getElementById("history-total").textContent = page && "problem" in page ? t("recordUnavailable") : tf("history.total", { total });
    document.getElementById("history-page").textContent = rows.length
      ? tf("history.page", { first: this.offset + 1, last: this.offset + rows.length, total }) : "";
    document.getElementById("history-prev").disabled = this.offset === 0;
    document.getElementById("history-next").disabled = this.offset + rows.length >= total;
  },

  row(a) {
    const area = wall.city.areas.find((x) => x.id === a.area);
    const tr = el("tr", { "data-alert": a.id, "data-severity": a.severity, "data-status": a.status, tabindex: "0", title: t("history.open_timeline") },
      el("td", {}, vnDateTime(a.raised_at)),
      el("td", {}, t("rule." + a.rule)),
      el("td", { title: a.entity }, siteName(a.entity)),
      el("td", {}, area ? areaName(area) : a.area || "–"),
      el("td", { class: "sev" }, t("severity." + a.severity)),
      el("td", { class: "alert-status" }, t("status." + a.status)),
      el("td", {}, a.assignee || ""));
    if (a.id === Timeline.id) tr.classList.add("selected");
    const open = () => {
      for (const other of document.querySelectorAll("#history-table tr.selected")) other.classList.remove("selected");
      tr.classList.add("selected");
      Timeline.open(a.id);
    };
    tr.onclick = open;
    tr.onkeydown = (e) => { if (e.key === "Enter") open(); };
    return tr;
  },

  // The CSV route wants the bearer token like every other: fetched here, handed to the browser as a file.
  async exportCsv() {
    const r = await api(`/api/history/alerts.csv?${this.query()}`);
    if (!r.ok) { toast(await refusalText(r, r.status === 503 ? t("recordUnavailable") : t("forbidden"))); return; }
    const url = URL.createObjectURL(await r.blob());
    const stamp = new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
    const link = el("a", { href: url, download: `alerts-${stamp}.csv`, hidden: "" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  },

  relabel() {
    if (!this.isOpen()) return;
    this.renderForm();
    this.renderTable();
    Timeline.render();
  },
};
