// What the page holds: the city model, the caller, the latest items from the feed and the simulated clock;
// and how to name and date them in the current language.
import { LANG } from "./i18n.js";

export const wall = {
  city: null, me: null, items: new Map(), worstAlert: new Map(), siteById: new Map(), health: null,
  version: 0, messages: 0, snapshots: 0, simTime: 0, simAnchorReal: 0, mode: null,
};

export function bandOf(level) { return wall.city.aqi_bands.find((b) => b.level === level); }
export function bandName(b) { return LANG === "en" ? b.en : b.vi; }
export function areaName(area) { return LANG === "en" ? area.name_en : area.name; }
// A site, station or road in the page's language (the city model names each in both).
export function localName(x) { return LANG === "en" && x.name_en ? x.name_en : x.name; }
export function siteName(id) { const s = wall.siteById.get(id); return s ? localName(s) : id; }

export function vnTime(ms) {
  return new Date(ms).toLocaleTimeString(LANG === "en" ? "en-GB" : "vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour12: false });
}

export function vnDateTime(ms) {
  return new Date(ms).toLocaleString(LANG === "en" ? "en-GB" : "vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour12: false });
}
