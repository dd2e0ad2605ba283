// The details pane of one alert on the live wall: what and where, its status, and its whole history from the
// alert document (who, when in Vietnam time, comment); for operators, the actions its status allows
// (vocabulary.allowed: acknowledge, assign, comment, clear, resolve, reopen) with a comment.
import { Actions } from "./actions.js";
import { laneText } from "./alertgroups.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { attentionOf } from "./notices.js";
import { api } from "./session.js";
import { areaName, siteName, vnDateTime, wall } from "./store.js";
import { duration, stepLabel } from "./timeline.js";
import { allows, vocabulary } from "./vocabulary.js";

function mayAct() { return Boolean(wall.me && wall.me.may_act); }

// A label from the language's table, or the name itself when the table lacks it (a step added since).
function named(table, name) {
  const label = t(`${table}.${name}`);
  return label === `${table}.${name}` ? name : label;
}

function stepNote(h) {
  const parts = [];
  if (h.severity) parts.push(`${t("details.severity")}: ${named("severity", h.severity)}`);
  if (h.assignee) parts.push(`→ ${h.assignee}`);
  return parts.join(" · ");
}

// Redraw `root` without losing the operator's place in a text box.
function keepFocus(root, draw) {
  const active = document.activeElement;
  const role = active && root.contains(active) ? active.dataset.role : null;
  const range = role ? [active.selectionStart, active.selectionEnd] : null;
  draw();
  const again = role ? root.querySelector(`[data-role="${role}"]`) : null;
  if (!again) return;
  again.focus();
  try { again.setSelectionRange(...range); } catch (e) { /* not a text box */ }
}

function fact(label, value, role) {
  return [el("dt", {}, label), el("dd", role ? { "data-role": role } : {}, value)];
}

export const Details = {
  id: null,
  alert: null, // the latest copy of the alert shown
  comment: "", // what the operator is typing, kept over redraws
  assignee: "",

  show(id, alert) {
    if (id !== this.id) { this.comment = ""; this.assignee = ""; }
    this.id = id;
    this.alert = alert || null;
    this.render();
    if (!alert) this.fetch(id);
  },

  async fetch(id) {
    try {
      const r = await api(`/api/alerts/${encodeURIComponent(id)}`);
      if (r.ok && id === this.id) { this.alert = await r.json(); this.render(); }
    } catch (e) { /* the server is restarting: the feed brings it */ }
  },

  // Every alert the feed brings: the one shown is redrawn with its new state.
  update(a) {
    if (a.id !== this.id) return;
    this.alert = a;
    this.render();
  },

  close() {
    this.id = null;
    this.alert = null;
    this.render();
  },

  render() {
    const box = document.getElementById("alert-details");
    box.hidden = !this.id;
    box.dataset.alert = this.id || "";
    box.dataset.status = this.alert ? this.alert.status : "";
    if (!this.id) { box.replaceChildren(); return; }
    keepFocus(box, () => box.replaceChildren(...this.parts(this.alert)));
  },

  parts(a) {
    const close = el("button", { type: "button", class: "close", "data-action": "close-details", title: t("close") }, "✕");
    close.onclick = () => this.close();
    const head = el("div", { class: "details-head" }, el("h3", {}, t("details.title")), close);
    if (!a) return [head, el("p", { class: "note" }, t("details.loading"))];
    return [head, this.summary(a), ...(mayAct() ? [this.form(a)] : []), this.history(a)];
  },

  summary(a) {
    const area = wall.city.areas.find((x) => x.id === a.area);
    const where = [siteName(a.entity), laneText(a.entity)].filter(Boolean).join(" · ");
    const facts = [
      ...fact(t("details.rule"), t("rule." + a.rule)),
      ...fact(t("details.where"), `${where} · ${area ? areaName(area) : a.area || "–"}`),
      ...fact(t("details.severity"), named("severity", a.severity), "severity"),
      ...fact(t("details.status"), named("status", a.status), "status"),
      ...fact(t("details.raised"), vnDateTime(a.dateIssued)),
    ];
    if (a.assignee) facts.push(...fact(t("details.assignee"), a.assignee, "assignee"));
    if (attentionOf(a)) facts.push(...fact(t("details.waiting"), duration(1000 * Number(a.attention.unacknowledged_s || 0))));
    return el("dl", { class: "details-facts", "data-severity": a.severity }, ...facts, ...fact(t("details.id"), a.id));
  },

  history(a) {
    const columns = ["when", "step", "by", "comment"].map((c) => el("th", {}, t("details." + c)));
    const rows = (a.history || []).map((h) => el("tr", { "data-step": h.action, "data-by": h.by },
      el("td", {}, vnDateTime(h.at)), el("td", {}, stepLabel(h)), el("td", {}, h.by),
      el("td", {}, [h.comment, stepNote(h)].filter(Boolean).join(" · "))));
    return el("div", { class: "details-history" }, el("h4", {}, t("details.history")),
      el("table", { class: "history-table" }, el("thead", {}, el("tr", {}, ...columns)), el("tbody", {}, ...rows)));
  },

  form(a) {
    const comment = el("textarea", { "data-role": "comment", rows: "2", maxlength: "500", placeholder: t("details.commentHint") });
    comment.value = this.comment;
    comment.oninput = () => { this.comment = comment.value; this.enable(); };
    const box = el("div", { class: "details-form" }, comment);
    if (allows("assign", a.status)) {
      const assignee = el("input", { type: "text", "data-role": "details-assignee", maxlength: "100", placeholder: t("assignee") });
      assignee.value = this.assignee;
      assignee.oninput = () => { this.assignee = assignee.value; this.enable(); };
      box.append(assignee);
    }
    const buttons = vocabulary.actions.filter((action) => allows(action, a.status)).map((action) => {
      const b = el("button", { type: "button", class: action === "acknowledge" ? "act" : "", "data-action": action }, named("act", action));
      b.onclick = () => this.act(action);
      return b;
    });
    box.append(el("div", { class: "details-buttons" }, ...buttons));
    queueMicrotask(() => this.enable());
    return box;
  },

  // Comment needs a comment, assign an assignee; nothing while an action is on its way.
  enable() {
    const busy = Actions.pending.has(this.id);
    for (const b of document.querySelectorAll("#alert-details .details-buttons button")) {
      const action = b.dataset.action;
      b.disabled = busy || (action === "comment" && !this.comment.trim()) || (action === "assign" && !this.assignee.trim());
    }
  },

  async act(action) {
    const body = { comment: this.comment.trim() };
    if (action === "assign") body.assignee = this.assignee.trim();
    if ((await Actions.send(this.id, action, body)) !== 202) return;
    this.comment = "";
    if (action === "assign") this.assignee = "";
    this.render();
  },
};
