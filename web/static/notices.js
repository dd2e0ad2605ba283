// Alerts that call for attention, told to each person once. An unacknowledged critical alert, and an
// unacknowledged alert whose attention rose (the wall server's `attention.level`: 1 for operators, 2 for
// everyone), is a notice. Operators get one modal pop-up at a time, with "+N more" and their list, and
// acknowledge from it; everyone else (viewers, an unattended wall) gets a banner that blocks nothing. What a
// person has seen is kept in this browser under their name, so a reload does not show it again.
import { Actions } from "./actions.js";
import { directionText, laneText } from "./alertgroups.js";
import { el } from "./dom.js";
import { t, tf } from "./i18n.js";
import { Sound } from "./sound.js";
import { areaName, siteName, vnTime, wall } from "./store.js";
import { duration } from "./timeline.js";
import { allows, isActive, mostSevere } from "./vocabulary.js";

const KEEP_MS = 24 * 3600e3; // what was seen of an alert the wall no longer has is forgotten after this
const MAX_SEEN = 2000;

function mayAct() { return Boolean(wall.me && wall.me.may_act); }

// The alert's attention level from the wall server, 0 when it sends none.
export function attentionOf(a) {
  const level = a.attention ? Math.floor(Number(a.attention.level)) : 0;
  return level > 0 ? Math.min(level, 2) : 0;
}

// The notice an alert calls for now ("<id>#<level>"), or null.
export function noticeOf(a, operator) {
  if (!allows("acknowledge", a.status)) return null; // acknowledged, or no longer open
  const level = attentionOf(a);
  const shown = operator ? level : level >= 2 ? 2 : 0;
  if (shown === 0 && a.severity !== mostSevere()) return null;
  return `${a.id}#${shown}`;
}

// What this person has seen: notice → when, in local storage under their name.
export const Seen = {
  map: null,

  key() { return `ioc.seen.${wall.me ? wall.me.name : ""}`; },

  load() {
    if (this.map) return this.map;
    try { this.map = JSON.parse(localStorage.getItem(this.key()) || "{}") || {}; } catch (e) { this.map = {}; }
    return this.map;
  },

  has(notice) { return notice in this.load(); },

  add(notices) {
    const map = this.load();
    let added = false;
    for (const n of notices) if (!(n in map)) { map[n] = Date.now(); added = true; }
    if (added) this.save();
  },

  save() {
    const entries = Object.entries(this.map).sort((a, b) => b[1] - a[1]).slice(0, MAX_SEEN);
    this.map = Object.fromEntries(entries);
    localStorage.setItem(this.key(), JSON.stringify(this.map));
  },

  // An alert that is no longer active (cleared, resolved): a return is news again.
  forget(id) {
    const map = this.load();
    const gone = Object.keys(map).filter((n) => n.slice(0, n.lastIndexOf("#")) === id);
    for (const n of gone) delete map[n];
    if (gone.length) this.save();
  },

  // After a snapshot: alerts the wall no longer has, seen more than a day ago (not at once: a wall that has
  // just restarted may not hold them yet).
  prune(activeIds) {
    const map = this.load();
    const old = Object.keys(map).filter((n) => !activeIds.has(n.slice(0, n.lastIndexOf("#"))) && Date.now() - map[n] > KEEP_MS);
    for (const n of old) delete map[n];
    if (old.length) this.save();
  },

  reload() { this.map = null; }, // another tab of the same person saw something
};

function describe(a) {
  const area = wall.city.areas.find((x) => x.id === a.area);
  const where = [siteName(a.entity), laneText(a.entity) || directionText(a.entity), area ? areaName(area) : ""].filter(Boolean);
  return { rule: t("rule." + a.rule), where: where.join(" · "), when: `${vnTime(a.dateIssued)} · ${t("severity." + a.severity)}` };
}

function titleOf(a) {
  const level = attentionOf(a);
  if (!level) return t("criticalAlert");
  const waited = duration(1000 * Number(a.attention.unacknowledged_s || 0));
  return tf(level >= 2 ? "notice.waitingLong" : "notice.waiting", { duration: waited });
}

export const Notices = {
  queue: [], // [{ notice, id }] not yet dealt with here, in order of arrival
  listOpen: false,
  shown: null, // the notice on screen (read by the browser tests)

  // Every alert the feed brings.
  consider(a) {
    const notice = noticeOf(a, mayAct());
    this.queue = this.queue.filter((q) => q.id !== a.id || q.notice === notice);
    if (!isActive(a.status)) Seen.forget(a.id);
    if (notice && !Seen.has(notice) && !this.queue.some((q) => q.notice === notice)) {
      this.queue.push({ notice, id: a.id });
      Sound.alarm();
    }
  },

  // After a snapshot: only alerts the wall still has.
  sync(activeIds) {
    this.queue = this.queue.filter((q) => activeIds.has(q.id));
    Seen.prune(activeIds);
  },

  alert(q) { return wall.items.get(`alert:${q.id}`); },

  render() {
    this.queue = this.queue.filter((q) => this.alert(q));
    const head = this.queue[0];
    this.shown = head ? head.notice : null;
    if (head) Seen.add(this.listOpen ? this.queue.map((q) => q.notice) : [head.notice]);
    if (!head) this.listOpen = false;
    if (mayAct()) this.renderPopup(head); else this.renderBanner(head);
  },

  renderPopup(head) {
    const popup = document.getElementById("popup");
    popup.hidden = !head;
    document.getElementById("alert-banner").hidden = true;
    if (!head) return;
    const a = this.alert(head);
    const d = describe(a);
    popup.dataset.alert = a.id;
    popup.dataset.attention = String(attentionOf(a));
    document.getElementById("popup-title").textContent = titleOf(a);
    document.getElementById("popup-body").replaceChildren(
      el("div", {}, el("b", {}, d.rule)), el("div", {}, d.where), el("div", {}, d.when));
    const ack = document.getElementById("popup-ack");
    ack.disabled = Actions.pending.has(a.id);
    document.getElementById("popup-next").hidden = this.queue.length < 2;
    document.getElementById("popup-close").textContent = t(this.queue.length > 1 ? "notice.closeAll" : "close");
    this.renderMore("popup", true);
  },

  renderBanner(head) {
    const banner = document.getElementById("alert-banner");
    banner.hidden = !head;
    document.getElementById("popup").hidden = true;
    if (!head) return;
    const a = this.alert(head);
    const d = describe(a);
    banner.dataset.alert = a.id;
    banner.dataset.attention = String(attentionOf(a));
    document.getElementById("alert-banner-title").textContent = titleOf(a);
    document.getElementById("alert-banner-text").textContent = `${d.rule} · ${d.where} · ${d.when}`;
    this.renderMore("alert-banner", false);
  },

  // "+N more" and, when opened, the list of the other notices (each with its own acknowledge for operators).
  renderMore(prefix, withAck) {
    const rest = this.queue.slice(1);
    const more = document.getElementById(`${prefix}-more`);
    more.hidden = !rest.length;
    more.textContent = this.listOpen ? t("notice.less") : tf("notice.more", { n: rest.length });
    more.setAttribute("aria-expanded", String(this.listOpen));
    const list = document.getElementById(`${prefix}-list`);
    list.hidden = !this.listOpen || !rest.length;
    list.replaceChildren(...(this.listOpen ? rest.map((q) => this.listItem(q, withAck)) : []));
  },

  listItem(q, withAck) {
    const a = this.alert(q);
    const d = describe(a);
    const li = el("li", { "data-alert": a.id, "data-severity": a.severity },
      el("span", { class: "what" }, `${d.rule} · ${d.where} · ${d.when}`));
    const show = el("button", { type: "button", "data-action": "show" }, t("notice.show"));
    show.onclick = () => { this.queue = [q, ...this.queue.filter((x) => x !== q)]; this.render(); };
    li.append(show);
    if (withAck) {
      const ack = el("button", { type: "button", class: "act", "data-action": "acknowledge" }, t("acknowledge"));
      ack.disabled = Actions.pending.has(a.id);
      ack.onclick = () => this.acknowledge(q);
      li.append(ack);
    }
    return li;
  },

  async acknowledge(q) {
    if ((await Actions.send(q.id, "acknowledge")) === 202) this.drop(q);
  },

  drop(q) {
    this.queue = this.queue.filter((x) => x !== q);
    this.render();
  },

  dismissAll() {
    Seen.add(this.queue.map((q) => q.notice));
    this.queue = [];
    this.render();
  },

  toggleList() {
    this.listOpen = !this.listOpen;
    this.render();
  },

  wire(openDetails) {
    document.getElementById("popup-ack").onclick = () => { if (this.queue[0]) this.acknowledge(this.queue[0]); };
    document.getElementById("popup-next").onclick = () => { if (this.queue[0]) this.drop(this.queue[0]); };
    document.getElementById("popup-close").onclick = () => this.dismissAll();
    document.getElementById("popup-more").onclick = () => this.toggleList();
    document.getElementById("alert-banner-more").onclick = () => this.toggleList();
    document.getElementById("alert-banner-close").onclick = () => this.dismissAll();
    document.getElementById("alert-banner-text").onclick = () => { if (this.queue[0]) openDetails(this.queue[0].id); };
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !document.getElementById("popup").hidden) this.dismissAll();
    });
    window.addEventListener("storage", (e) => { if (e.key === Seen.key()) Seen.reload(); });
  },
};
