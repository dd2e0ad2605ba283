// Offline maps of the three areas with Leaflet: ward zones, roads and sites from /api/city, no tile server.
// Each site is a circle coloured by its worst active alert, else by its own state (AQI stations: VN_AQI band);
// a site whose data is older than its kind allows is grey, its tooltip saying how old.
// L is Leaflet's global (a classic script before the modules).
import { el } from "./dom.js";
import { ageText, staleAge } from "./freshness.js";
import { t } from "./i18n.js";
import { bandOf, localName, wall } from "./store.js";
import { rank } from "./vocabulary.js";

// Keyed by the vocabulary's severities and map states (the page checks them against /api/vocabulary).
export const SEVERITY_COLOUR = { critical: "#d500f9", high: "#ff1744", medium: "#ff9100", low: "#40c4ff", informational: "#40c4ff" };
export const STATE_COLOUR = { ok: "#2ecc71", warning: "#f1c40f", alarm: "#e74c3c", offline: "#7f8c8d", "no-data": "#3d4f66" };
export const STALE_COLOUR = "#9aa0a6"; // older than expected: not the site's state any more
const NO_DATA = "no-data"; // a site before its first value
const SITE_RADIUS = { aqi: 8, weather: 7, water: 8, hospital: 8, traffic: 4, lighting: 3 };
const SITE_ORDER = ["lighting", "traffic", "weather", "water", "aqi", "hospital"]; // later ones drawn on top
const ROAD_STYLE = { national: { color: "#5d7aa3", weight: 4 }, arterial: { color: "#48628a", weight: 3 }, collector: { color: "#364c6d", weight: 2 } };

export const AreaMaps = {
  maps: new Map(), // area id → L.Map
  markers: new Map(), // site key → { marker, site }
  keyOfEntity: new Map(), // site id → site key

  draw(city) {
    for (const area of city.areas) {
      const node = document.querySelector(`[data-area="${area.id}"] .map`);
      const map = L.map(node, { zoomControl: false, attributionControl: false, zoomSnap: 0.25 });
      L.control.zoom({ position: "topright", zoomInTitle: t("zoomIn"), zoomOutTitle: t("zoomOut") }).addTo(map);
      for (const ward of area.wards) {
        tip(L.polygon(ward.zone, { color: "#24405f", weight: 1, fillColor: "#102035", fillOpacity: 0.6 }), () => ward.name)
          .addTo(map);
      }
      const roads = city.roads.filter((r) => r.area === area.id);
      for (const road of roads) {
        tip(L.polyline(road.path, { ...(ROAD_STYLE[road.class] || ROAD_STYLE.collector), opacity: 0.9 }), () => localName(road))
          .addTo(map);
      }
      const sites = city.sites.filter((s) => s.area === area.id)
        .sort((a, b) => SITE_ORDER.indexOf(a.kind) - SITE_ORDER.indexOf(b.kind));
      // Fitted to what is drawn (the area's box holds much empty land), a little inside the panel's edge.
      const drawn = L.latLngBounds([...sites.map((s) => s.at), ...roads.flatMap((r) => r.path)]);
      const fit = () => map.fitBounds(drawn.isValid() ? drawn : area.bbox, { padding: [8, 8] });
      fit();
      // The panel takes its size once the tiles and lists beside it fill (and again on a new screen): the
      // map follows, fitted again, rather than showing a corner of the area.
      new ResizeObserver(() => { map.invalidateSize(); fit(); }).observe(node);
      for (const site of sites) {
        const marker = L.circleMarker(site.at, {
          radius: SITE_RADIUS[site.kind] || 4, weight: 1, color: "#0a101a", fillOpacity: 0.95,
          fillColor: STATE_COLOUR[NO_DATA], className: `site site-${site.kind}`,
        });
        tip(marker, () => siteTooltip(site)).addTo(map);
        marker.getElement().dataset.key = site.key; // read by the browser tests
        this.markers.set(site.key, { marker, site });
        this.keyOfEntity.set(site.id, site.key);
      }
      this.maps.set(area.id, map);
    }
  },

  colour(site) {
    const alert = wall.worstAlert.get(site.id);
    if (alert) return SEVERITY_COLOUR[alert.severity];
    const item = wall.items.get(site.key);
    if (!item) return STATE_COLOUR[NO_DATA];
    if (staleAge(item) !== null) return STALE_COLOUR;
    if (site.kind === "aqi" && item.band) return bandOf(item.band).color;
    return STATE_COLOUR[item.state] || STATE_COLOUR.ok;
  },

  update(keys) {
    for (const key of keys) {
      const entry = this.markers.get(key);
      if (!entry) continue;
      const fill = this.colour(entry.site);
      if (entry.marker.options.fillColor !== fill) entry.marker.setStyle({ fillColor: fill });
      const item = wall.items.get(key);
      const node = entry.marker.getElement();
      if (item && staleAge(item) !== null) node.dataset.stale = "true"; else delete node.dataset.stale;
    }
  },

  updateAll() { this.update(this.markers.keys()); },

  resize() { for (const map of this.maps.values()) map.invalidateSize(); },
};

// One floating tip over the whole page, clamped to the screen: a Leaflet tooltip lives inside its map and
// was cut at the panel's edge.
function tip(layer, content) {
  const box = document.getElementById("map-tip");
  const place = (e) => {
    const { clientX: x, clientY: y } = e.originalEvent;
    const w = box.offsetWidth, h = box.offsetHeight, gap = 14;
    box.style.left = `${Math.max(4, Math.min(x + gap, innerWidth - w - 4))}px`;
    box.style.top = `${Math.max(4, y + gap + h > innerHeight ? y - h - gap : y + gap)}px`;
  };
  layer.on("mouseover", (e) => {
    const body = content();
    box.replaceChildren(typeof body === "string" ? document.createTextNode(body) : body);
    box.hidden = false;
    place(e);
  });
  layer.on("mousemove", place);
  layer.on("mouseout", () => { box.hidden = true; });
  return layer;
}

// What a site's latest value says, in the page's language (its tooltip, the wall's watch list).
export function siteValue(site, item) {
  if (!item) return "";
  if (site.kind === "aqi") return `VN_AQI ${item.aqi ?? "–"}`;
  if (site.kind === "water") return `${Number(item.currentLevel).toFixed(2)} m · ${t("flood." + item.status)}`;
  if (site.kind === "traffic") return `${item.speed} km/h · ${item.volume_h} ${t("vehPerHour")} · ${t("congestion." + item.congestion)}`;
  if (site.kind === "lighting") return `${t(item.online ? "cabinetOnline" : "cabinetOffline")} · ${item.lit}/${item.lamps} · ${item.kw} kW`;
  if (site.kind === "weather") return `${Number(item.temperature).toFixed(1)} °C · ${Number(item.windSpeed).toFixed(1)} m/s`;
  if (site.kind === "hospital") return `p90 ${item.wait_p90_min ?? "–"} min · ${item.waiting ?? 0}`;
  return "";
}

// Why a site needs a look, or null when it is fine or has not reported: an active alert on it (by severity),
// else its own state (alarm, offline, watch; /api/vocabulary's map states), else stale. Heavier is worse.
const STATE_WEIGHT = { alarm: 30, offline: 25, warning: 20 };
const STALE_WEIGHT = 10;
const ALERT_WEIGHT = 100;
export function siteConcern(site) {
  const alert = wall.worstAlert.get(site.id);
  const item = wall.items.get(site.key);
  if (alert) {
    return { weight: ALERT_WEIGHT + rank(alert.severity), colour: SEVERITY_COLOUR[alert.severity],
      why: `${t("rule." + alert.rule)} · ${t("severity." + alert.severity)}` };
  }
  if (!item) return null;
  const age = staleAge(item);
  if (age !== null) return { weight: STALE_WEIGHT, colour: STALE_COLOUR, why: `${t("stale")} · ${ageText(age)}` };
  if (!(item.state in STATE_WEIGHT)) return null;
  return { weight: STATE_WEIGHT[item.state], colour: AreaMaps.colour(site), why: siteValue(site, item) || t("mapState." + item.state) };
}

// Built as DOM nodes, never as HTML text: every string here came over the feed.
function siteTooltip(site) {
  const item = wall.items.get(site.key);
  const alert = wall.worstAlert.get(site.id);
  const box = el("div", {}, el("b", {}, String(localName(site))), el("br"), siteValue(site, item));
  const age = item ? staleAge(item) : null;
  if (age !== null) box.append(el("br"), el("i", { class: "age" }, `${t("stale")}: ${ageText(age)}`));
  if (alert) {
    const warn = el("b", {}, `${t("rule." + alert.rule)} · ${t("severity." + alert.severity)}`);
    warn.style.color = SEVERITY_COLOUR[alert.severity] || "#fff";
    box.append(el("br"), warn);
  }
  return box;
}
