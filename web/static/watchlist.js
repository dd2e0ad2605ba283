// The wall across the room (?kiosk=1) shows, per area, what needs a look instead of every station and gauge:
// the sites whose dot on the map is not fine (an alert on it, alarm, offline, watch, stale), worst first,
// WATCH_ROWS of them and "+N more"; "all normal" when there are none. The desks keep the full lists.
import { el } from "./dom.js";
import { t, tf } from "./i18n.js";
import { siteConcern } from "./map.js";
import { localName, wall } from "./store.js";

export const WATCH_ROWS = 3; // a line or two each: what a column of the wall has room for under its map

// An area's sites that need a look, worst first (then by name, so the order holds still between frames).
export function concerns(areaId) {
  return wall.city.sites.filter((s) => s.area === areaId)
    .map((site) => ({ site, concern: siteConcern(site) }))
    .filter((x) => x.concern !== null)
    .sort((a, b) => b.concern.weight - a.concern.weight || localName(a.site).localeCompare(localName(b.site)));
}

function row({ site, concern }) {
  return el("li", { "data-site": site.key },
    el("i", { class: "dot", style: `background:${concern.colour}` }),
    el("span", { class: "what" }, el("span", { class: "name" }, localName(site)), " ", el("span", { class: "why" }, concern.why)));
}

export function renderWatch() {
  for (const area of wall.city.areas) {
    const list = document.querySelector(`[data-area="${area.id}"] [data-role="watch"]`);
    const all = concerns(area.id);
    // The last row says how many more rather than hiding one: the list never grows past its rows.
    let shown = all.length > WATCH_ROWS ? WATCH_ROWS - 1 : all.length;
    fill(list, all, shown);
    // A row whose name and reason wrap to a second line can push the column's foot out of view once the
    // map is down to its least height: then the list gives rows up to its "+N more" until the column fits.
    const column = list.closest(".area");
    while (wall.kiosk && shown > 1 && column.scrollHeight > column.clientHeight + 1) fill(list, all, --shown);
    list.dataset.count = String(all.length);
  }
}

function fill(list, all, shown) {
  const rows = all.slice(0, shown).map(row);
  if (all.length > shown) rows.push(el("li", { class: "more" }, tf("watchMore", { n: all.length - shown })));
  if (!all.length) rows.push(el("li", { class: "calm" }, t("watchCalm")));
  list.replaceChildren(...rows);
}
