// The alert panel: every open alert, cleared ones greyed until resolved; filters by area, domain, status and
// severity (kept in this browser, with a count per severity); the lanes of one approach in one row with a
// count, opened to see each lane. A row opens the details pane; operators acknowledge and assign from the rows.
// The "closed" tab opens the incident history on cleared and resolved alerts. Notices (pop-up, banner,
// sound) follow every alert the feed brings.
import { Actions } from "./actions.js";
import {
  directionText, groupAlerts, groupStatus, laneText, loadFilter, passes, saveFilter, severityCounts, statusSummary,
} from "./alertgroups.js";
import { Trends } from "./charts.js";
import { Details } from "./details.js";
import { el } from "./dom.js";
import { History } from "./history.js";
import { LANG, t, tf } from "./i18n.js";
import { Notices, attentionOf } from "./notices.js";
import { fetchJson } from "./session.js";
import { Sound } from "./sound.js";
import { areaName, siteName, vnTime, wall } from "./store.js";
import { allows, rank, vocabulary } from "./vocabulary.js";

const CLOSED = "cleared,resolved"; // what the history tab searches the record for
const FILTERS = ["area", "domain", "status"];

function mayAct() { return Boolean(wall.me && wall.me.may_act); }

function areaLabel(id) {
  const area = wall.city.areas.find((x) => x.id === id);
  return area ? areaName(area) : id || "?";
}

function activeAlerts() { return [...wall.items.values()].filter((i) => i.kind === "alert"); }

// A row opens with a click or Enter, except on its own buttons and boxes.
function opens(li, open) {
  li.onclick = (e) => { if (e.target.closest("li") === li && !e.target.closest("button, input, select, textarea")) open(); };
  li.onkeydown = (e) => { if (e.key === "Enter" && e.target === li) open(); };
}

function choice(name, options, value) {
  const select = el("select", { name, "data-filter": name, title: t("filter." + name) },
    el("option", { value: "" }, `${t("filter." + name)}: ${t("filter.any")}`),
    ...options.map(([v, label]) => el("option", { value: v }, label)));
  select.value = value;
  return select;
}

export const Alerts = {
  assigning: null, // alert id whose assign box is open
  draft: "",
  cleared: new Map(), // id → cleared alert: the feed's snapshot holds active alerts only
  lengths: new Map(), // id → history length of the newest copy seen, so an older answer never rolls one back
  touched: new Map(), // id → when the feed last brought it
  expanded: new Set(), // group rows shown lane by lane
  filter: loadFilter(),
  snapshots: 0,
  gen: 0,
  clearedLoads: 0, // answers of the cleared list shown (read by the browser tests)
  lang: null,

  get pending() { return Actions.pending; },

  // Every open alert: the active ones the feed holds, and the cleared ones.
  open() { return [...activeAlerts(), ...this.cleared.values()]; },

  render() {
    if (wall.snapshots !== this.snapshots) this.afterSnapshot();
    if (this.lang !== LANG) this.buildFilters();
    const all = this.open();
    const shown = all.filter((a) => passes(a, this.filter));
    document.getElementById("alert-count").textContent = String(shown.length);
    this.renderFilters(all);
    this.renderTabs();
    const rows = groupAlerts(shown);
    const list = document.getElementById("alert-list");
    list.replaceChildren(...rows.map((r) => (r.alerts.length === 1 ? this.row(r.alerts[0], false) : this.groupRow(r))));
    if (!rows.length) list.append(el("li", { class: "none" }, t(all.length ? "filter.none" : "noOpenAlerts"))); // not a blank panel
    this.refocus();
    Details.render();
    Notices.render();
  },

  refocus() {
    if (!this.assigning) return;
    const input = document.querySelector(`#alert-list [data-alert="${CSS.escape(this.assigning)}"] input`);
    if (input) { input.focus(); input.setSelectionRange(input.value.length, input.value.length); }
  },

  row(a, inGroup) {
    const classes = ["alert", Actions.pending.has(a.id) ? "pending" : "", Details.id === a.id ? "selected" : ""];
    const li = el("li", { class: classes.join(" ").trim(), "data-alert": a.id, "data-severity": a.severity,
      "data-status": a.status, "data-attention": String(attentionOf(a)), tabindex: "0", title: t("details.open") });
    const lane = laneText(a.entity);
    const where = inGroup ? lane : [siteName(a.entity), lane, areaLabel(a.area)].filter(Boolean).join(" · ");
    li.append(
      el("div", { class: "head" }, el("span", {}, inGroup ? lane : t("rule." + a.rule)), el("span", { class: "sev" }, t("severity." + a.severity))),
      el("div", { class: "where" }, inGroup ? siteName(a.entity) : where),
      el("div", { class: "when" }, `${vnTime(a.dateIssued)} · `, el("span", { class: "status" }, t("status." + a.status)),
        a.assignee ? ` → ${a.assignee}` : ""));
    if (mayAct()) li.append(this.actions(a));
    opens(li, () => this.showDetails(a.id));
    return li;
  },

  groupRow(row) {
    const a = row.worst;
    const expanded = this.expanded.has(row.key);
    const attention = Math.max(...row.alerts.map(attentionOf));
    const li = el("li", { class: "alert group", "data-group": row.key, "data-severity": a.severity, "data-status": groupStatus(row),
      "data-count": String(row.alerts.length), "data-attention": String(attention), tabindex: "0", title: t(expanded ? "group.collapse" : "group.expand") });
    li.append(
      el("div", { class: "head" }, el("span", {}, t("rule." + a.rule)),
        el("span", { class: "lanes", "data-role": "count" }, tf("group.lanes", { n: row.alerts.length })),
        el("span", { class: "sev" }, t("severity." + a.severity))),
      el("div", { class: "where" }, [siteName(a.entity), directionText(a.entity), areaLabel(a.area)].filter(Boolean).join(" · ")),
      el("div", { class: "when" }, `${vnTime(row.newest)} · `, el("span", { class: "status" }, statusSummary(row))),
      this.groupActions(row, expanded));
    if (expanded) li.append(el("ol", { class: "lanes-list" }, ...row.alerts.map((x) => this.row(x, true))));
    opens(li, () => this.toggleGroup(row.key));
    return li;
  },

  groupActions(row, expanded) {
    const toggle = el("button", { type: "button", class: "expand", "data-action": "expand", "aria-expanded": String(expanded) },
      t(expanded ? "group.collapse" : "group.expand"));
    toggle.onclick = () => this.toggleGroup(row.key);
    const box = el("div", { class: "actions" }, toggle);
    const raised = row.alerts.filter((x) => allows("acknowledge", x.status) && !Actions.pending.has(x.id));
    if (mayAct() && raised.length) {
      const ack = el("button", { type: "button", class: "act", "data-action": "acknowledge-all" }, tf("group.acknowledgeAll", { n: raised.length }));
      ack.onclick = () => { for (const x of raised) Actions.send(x.id, "acknowledge"); };
      box.append(ack);
    }
    return box;
  },

  toggleGroup(key) {
    if (this.expanded.has(key)) this.expanded.delete(key); else this.expanded.add(key);
    this.render();
  },

  actions(a) {
    const box = el("div", { class: "actions" });
    if (allows("acknowledge", a.status)) {
      const ack = el("button", { type: "button", class: "act", "data-action": "acknowledge" }, t("acknowledge"));
      ack.onclick = () => Actions.send(a.id, "acknowledge");
      box.append(ack);
    }
    if (allows("assign", a.status)) box.append(...this.assignControls(a));
    return box;
  },

  assignControls(a) {
    if (this.assigning !== a.id) {
      const assign = el("button", { type: "button", "data-action": "assign" }, t("assign"));
      assign.onclick = () => { this.assigning = a.id; this.draft = ""; this.render(); };
      return [assign];
    }
    const input = el("input", { type: "text", placeholder: t("assignee"), "data-role": "assignee", maxlength: "100" });
    input.value = this.draft;
    input.oninput = () => { this.draft = input.value; };
    const send = () => {
      if (!this.draft.trim()) return;
      Actions.send(a.id, "assign", { assignee: this.draft.trim() });
      this.assigning = null;
      this.draft = "";
    };
    input.onkeydown = (e) => { if (e.key === "Enter") send(); if (e.key === "Escape") { this.assigning = null; this.render(); } };
    const ok = el("button", { type: "button", "data-action": "send-assign" }, t("send"));
    ok.onclick = send;
    return [input, ok];
  },

  showDetails(id) {
    const a = wall.items.get(`alert:${id}`) || this.cleared.get(id);
    Details.show(id, a);
    this.render();
  },

  // --- filters and tabs ---------------------------------------------------------------------------
  buildFilters() {
    this.lang = LANG;
    const f = this.filter;
    const domains = [...new Set(Object.values(vocabulary.kpiDomain))];
    const chips = [...vocabulary.severities].reverse().map((s) => {
      const chip = el("button", { type: "button", class: "chip", "data-severity": s, "aria-pressed": "false" },
        el("span", {}, t("severity." + s)), " ", el("span", { class: "n" }, "0"));
      chip.onclick = () => this.toggleSeverity(s);
      return chip;
    });
    const reset = el("button", { type: "button", "data-action": "reset-filter" }, t("filter.reset"));
    reset.onclick = () => this.setFilter({ area: "", domain: "", status: "", severities: [] });
    const form = document.getElementById("alert-filters");
    form.replaceChildren(
      choice("area", wall.city.areas.map((a) => [a.id, areaName(a)]), f.area),
      choice("domain", domains.map((d) => [d, t("domain." + d)]), f.domain),
      choice("status", vocabulary.openStatuses.map((s) => [s, t("status." + s)]), f.status),
      el("div", { class: "chips", title: t("filter.severity") }, ...chips), reset);
    form.onchange = (e) => { if (e.target.dataset.filter) this.setFilter({ ...this.filter, [e.target.dataset.filter]: e.target.value }); };
    form.onsubmit = (e) => e.preventDefault();
  },

  renderFilters(all) {
    const counts = severityCounts(all, this.filter);
    for (const chip of document.querySelectorAll("#alert-filters .chip")) {
      const s = chip.dataset.severity;
      chip.querySelector(".n").textContent = String(counts[s] || 0);
      chip.setAttribute("aria-pressed", String(this.filter.severities.includes(s)));
    }
    for (const name of FILTERS) {
      const select = document.querySelector(`#alert-filters [data-filter="${name}"]`);
      if (select && select.value !== this.filter[name]) select.value = this.filter[name];
    }
  },

  toggleSeverity(s) {
    const on = this.filter.severities.includes(s);
    const severities = on ? this.filter.severities.filter((x) => x !== s) : [...this.filter.severities, s];
    this.setFilter({ ...this.filter, severities: severities.sort((a, b) => rank(b) - rank(a)) });
  },

  setFilter(filter) {
    this.filter = filter;
    saveFilter(filter);
    this.render();
  },

  renderTabs() {
    const history = History.isOpen();
    document.getElementById("alert-tab-open").setAttribute("aria-pressed", String(!history));
    document.getElementById("alert-tab-history").setAttribute("aria-pressed", String(history));
  },

  // --- the feed ------------------------------------------------------------------------------------
  // Called for every alert the feed brings (snapshot or delta).
  seen(a) {
    Actions.arrived(a.id);
    Trends.mark(a);
    this.lengths.set(a.id, Math.max(this.lengths.get(a.id) || 0, (a.history || []).length));
    this.touched.set(a.id, performance.now());
    if (a.status === "cleared") this.cleared.set(a.id, a); else this.cleared.delete(a.id);
    Notices.consider(a);
    Details.update(a);
  },

  afterSnapshot() {
    this.snapshots = wall.snapshots;
    const ids = new Set(activeAlerts().map((a) => a.id));
    Notices.sync(ids);
    for (const map of [this.lengths, this.touched]) for (const id of [...map.keys()]) if (!ids.has(id) && !this.cleared.has(id)) map.delete(id);
    this.loadCleared();
  },

  // The cleared alerts, which a snapshot does not carry, from GET /api/alerts; what the feed brought since
  // the question was asked wins over the answer.
  async loadCleared() {
    const asked = performance.now();
    const gen = ++this.gen;
    const got = await fetchJson("/api/alerts?status=cleared&limit=5000");
    if (gen !== this.gen || got.refused) return;
    const next = new Map();
    for (const a of got.alerts) {
      const newer = (this.touched.get(a.id) || 0) > asked || (this.lengths.get(a.id) || 0) > a.history.length;
      if (!newer) next.set(a.id, { ...a, key: `alert:${a.id}` });
    }
    for (const [id, a] of this.cleared) if ((this.touched.get(id) || 0) > asked) next.set(id, a);
    this.cleared = next;
    for (const a of next.values()) Notices.consider(a);
    this.clearedLoads += 1;
    this.render();
  },

  // Called once at start-up by wall.js.
  wirePopup() {
    Sound.wire();
    Actions.changed = () => this.render();
    Notices.wire((id) => this.showDetails(id));
  },

  // Called by wall.js once the city is drawn: the history tab's form lists the city's areas.
  wireTabs() {
    document.getElementById("alert-tab-open").onclick = () => { History.close(); this.renderTabs(); };
    document.getElementById("alert-tab-history").onclick = () => { History.openWith({ status: CLOSED }); this.renderTabs(); };
    for (const id of ["history-open", "history-close"]) {
      document.getElementById(id).addEventListener("click", () => setTimeout(() => this.renderTabs()));
    }
  },
};
