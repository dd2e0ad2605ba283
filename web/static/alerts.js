// The alert panel (most severe first, acknowledge and assign for operators) and the pop-up that a new alert of
// the highest severity opens, with its sound.
import { Trends } from "./charts.js";
import { el, toast } from "./dom.js";
import { t } from "./i18n.js";
import { api, refusalText } from "./session.js";
import { Sound } from "./sound.js";
import { areaName, siteName, vnTime, wall } from "./store.js";
import { allows, mostSevere, rank } from "./vocabulary.js";

// An alert that still awaits its acknowledgement keeps its pop-up.
function unacknowledged(a) { return allows("acknowledge", a.status); }

export const Alerts = {
  pending: new Set(), // alert ids with an action sent, waiting for the feed to bring the new status
  assigning: null, // alert id whose assign box is open
  draft: "",
  seenCritical: new Set(),
  popupQueue: [],

  active() {
    return [...wall.items.values()].filter((i) => i.kind === "alert")
      .sort((a, b) => rank(b.severity) - rank(a.severity) || b.dateIssued - a.dateIssued);
  },

  render() {
    const list = this.active();
    document.getElementById("alert-count").textContent = String(list.length);
    document.getElementById("alert-list").replaceChildren(...list.map((a) => this.row(a)));
    if (this.assigning) {
      const input = document.querySelector(`[data-alert="${CSS.escape(this.assigning)}"] input`);
      if (input) { input.focus(); input.setSelectionRange(input.value.length, input.value.length); }
    }
  },

  row(a) {
    const li = el("li", { class: "alert" + (this.pending.has(a.id) ? " pending" : ""), "data-alert": a.id, "data-severity": a.severity, "data-status": a.status });
    const area = wall.city.areas.find((x) => x.id === a.area);
    li.append(
      el("div", { class: "head" }, el("span", {}, t("rule." + a.rule)), el("span", { class: "sev" }, t("severity." + a.severity))),
      el("div", { class: "where" }, `${siteName(a.entity)} · ${area ? areaName(area) : "?"}`),
      el("div", { class: "when" }, `${vnTime(a.dateIssued)} · `, el("span", { class: "status" }, t("status." + a.status)),
        a.assignee ? ` → ${a.assignee}` : ""));
    if (wall.me && wall.me.may_act) li.append(this.actions(a));
    return li;
  },

  actions(a) {
    const box = el("div", { class: "actions" });
    if (allows("acknowledge", a.status)) {
      const ack = el("button", { type: "button", class: "act", "data-action": "acknowledge" }, t("acknowledge"));
      ack.onclick = () => this.act(a.id, "acknowledge", {});
      box.append(ack);
    }
    if (!allows("assign", a.status)) return box;
    if (this.assigning === a.id) {
      const input = el("input", { type: "text", placeholder: t("assignee"), "data-role": "assignee" });
      input.value = this.draft;
      input.oninput = () => { this.draft = input.value; };
      const send = () => { if (this.draft.trim()) { this.act(a.id, "assign", { assignee: this.draft.trim() }); this.assigning = null; this.draft = ""; } };
      input.onkeydown = (e) => { if (e.key === "Enter") send(); if (e.key === "Escape") { this.assigning = null; this.render(); } };
      const ok = el("button", { type: "button", "data-action": "send-assign" }, t("send"));
      ok.onclick = send;
      box.append(input, ok);
    } else {
      const assign = el("button", { type: "button", "data-action": "assign" }, t("assign"));
      assign.onclick = () => { this.assigning = a.id; this.draft = ""; this.render(); };
      box.append(assign);
    }
    return box;
  },

  async act(id, action, body) {
    this.pending.add(id);
    this.render();
    const r = await api(`/api/alerts/${encodeURIComponent(id)}/${action}`, { method: "POST", body: JSON.stringify(body) });
    if (r.status !== 202) {
      this.pending.delete(id);
      toast(await refusalText(r, t("forbidden")));
      this.render();
    }
    return r.status;
  },

  // Called for every alert the feed brings (snapshot or delta).
  seen(a) {
    this.pending.delete(a.id);
    Trends.mark(a);
    if (a.severity === mostSevere() && unacknowledged(a) && !this.seenCritical.has(a.id)) {
      this.seenCritical.add(a.id);
      this.popupQueue.push(a.id);
      Sound.alarm();
      this.showPopup();
    }
    if (!unacknowledged(a)) this.popupQueue = this.popupQueue.filter((x) => x !== a.id);
    if (!this.popupQueue.length) document.getElementById("popup").hidden = true;
    else this.showPopup();
  },

  showPopup() {
    const id = this.popupQueue[this.popupQueue.length - 1];
    const a = wall.items.get(`alert:${id}`);
    if (!a) return;
    const area = wall.city.areas.find((x) => x.id === a.area);
    const body = document.getElementById("popup-body");
    body.replaceChildren(
      el("div", {}, el("b", {}, t("rule." + a.rule))),
      el("div", {}, `${siteName(a.entity)} · ${area ? areaName(area) : ""}`),
      el("div", {}, `${vnTime(a.dateIssued)} · ${t("severity." + a.severity)}`));
    const popup = document.getElementById("popup");
    popup.dataset.alert = id;
    document.getElementById("popup-ack").hidden = !(wall.me && wall.me.may_act);
    popup.hidden = false;
  },

  wirePopup() {
    document.getElementById("popup-close").onclick = () => {
      this.popupQueue.pop();
      document.getElementById("popup").hidden = !this.popupQueue.length;
      if (this.popupQueue.length) this.showPopup();
    };
    document.getElementById("popup-ack").onclick = () => this.act(document.getElementById("popup").dataset.alert, "acknowledge", {});
  },
};
