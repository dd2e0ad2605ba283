// The wall page: signs in with a token, reads the vocabulary and draws the city from the API, then keeps
// live values from /ws. The page's entry module: it imports the others, none imports it.
import { Alerts } from "./alerts.js";
import { KPI_ORDER, KPI_UNIT, Trends } from "./charts.js";
import { el, toast } from "./dom.js";
import { ageText, feedDead, simNow, staleAge, staleMinutes } from "./freshness.js";
import { History } from "./history.js";
import { I18N, LANG, applyStaticLabels, setLang, t, tf } from "./i18n.js";
import { grouped } from "./problems.js";
import { AreaMaps, SEVERITY_COLOUR, STALE_COLOUR, STATE_COLOUR } from "./map.js";
import { api, fetchJson, refusalText, showLogin, takeTokenFromUrl, token } from "./session.js";
import { Sound } from "./sound.js";
import { areaName, bandName, bandOf, localName, vnDateTime, vnTime, wall } from "./store.js";
import { Timeline } from "./timeline.js";
import { followClock, parseSeek, seekProblem } from "./seekbox.js";
import { renderWatch } from "./watchlist.js";
import { floodStatus, isActive, loadVocabulary, mismatches, rank, vocabulary } from "./vocabulary.js";

const STANDING_COLOUR = { veryGood: "#2e7d32", good: "#7cb342", fair: "#fbc02d", bad: "#ef6c00", veryBad: "#c62828" };
const ENV_KINDS = ["aqi", "weather", "water"];
const POLLUTANT_LABEL = { pm25: "PM2.5", pm10: "PM10", no2: "NO₂", o3: "O₃", co: "CO", so2: "SO₂" };

Object.assign(wall, { trends: Trends, alerts: Alerts, sound: Sound, maps: AreaMaps, history: History, timeline: Timeline, gaps: [],
  stale: new Map(), connState: "connecting", connSince: 0, simNow });
window.__wall = wall; // read by the browser tests

const dirty = { all: true, keys: new Set(), kinds: new Set() };

// Every table keyed by vocabulary names must name exactly the vocabulary's: what does not is logged and kept
// in wall.gaps (the browser tests read it), so a new severity or state never goes by uncoloured or unlabelled.
function vocabularyGaps() {
  const v = vocabulary;
  const labels = Object.keys(I18N).flatMap((lang) => [
    ...mismatches(`${lang}.severity`, I18N[lang].severity, v.severities),
    ...mismatches(`${lang}.status`, I18N[lang].status, v.alertStatuses),
    ...mismatches(`${lang}.flood`, I18N[lang].flood, v.floodStatuses),
    ...mismatches(`${lang}.domain`, I18N[lang].domain, [...new Set(Object.values(v.kpiDomain))]),
    ...Object.keys(I18N[lang].replay).filter((s) => !v.replayStates.includes(s)).map((s) => `${lang}.replay.${s}`),
  ]);
  return [
    ...mismatches("SEVERITY_COLOUR", SEVERITY_COLOUR, v.severities),
    ...mismatches("STATE_COLOUR", STATE_COLOUR, v.mapStates),
    ...Object.keys(I18N).flatMap((lang) => mismatches(`${lang}.mapState`, I18N[lang].mapState, v.mapStates)),
    ...mismatches("KPI_UNIT", KPI_UNIT, Object.keys(v.kpiDomain)),
    ...KPI_ORDER.filter((kpi) => !(kpi in v.kpiDomain)).map((kpi) => `KPI_ORDER.${kpi}`),
    ...labels,
  ];
}

// --- drawing ------------------------------------------------------------------------------------------
function drawSkeleton() {
  const root = document.getElementById("areas");
  root.replaceChildren();
  for (const area of wall.city.areas) {
    root.append(el("section", { class: "area", "data-area": area.id },
      el("h2", {}, el("span", { "data-role": "name" }, areaName(area)),
        el("span", { class: "area-age", "data-role": "area-age" }, ""), el("span", { class: "worst", "data-role": "worst" }, "")),
      el("div", { class: "map" }),
      el("div", { class: "tiles", "data-role": "tiles" }),
      el("div", { class: "section-title", "data-i18n": "airQuality" }, t("airQuality")),
      el("div", { class: "stations", "data-role": "stations" }),
      el("div", { class: "section-title", "data-i18n": "weather" }, t("weather")),
      el("div", { class: "weather", "data-role": "weather" }, "—"),
      el("div", { class: "section-title", "data-i18n": "water" }, t("water")),
      el("div", { class: "water", "data-role": "water" }, el("ul")),
      el("div", { class: "section-title watch-title", "data-i18n": "watch" }, t("watch")),
      el("ol", { class: "watch", "data-role": "watch" })));
  }
}

function renderLegend() {
  const grace = vocabulary.freshness ? vocabulary.freshness.grace : "";
  // The maps' colours: a site's own state, unless an alert on it paints it in the alert's severity.
  const dot = (colour, label) => el("span", { class: "dot-label" }, el("i", { class: "dot", style: `background:${colour}` }), label);
  document.getElementById("legend").replaceChildren(el("span", { class: "caption", title: t("aqiLegendSource") }, t("aqiLegend")),
    ...wall.city.aqi_bands.map((b) => el("span", { style: `background:${b.color};color:${b.level >= 4 ? "#fff" : "#111"}` }, `${b.lo}–${b.hi} ${bandName(b)}`)),
    el("span", { class: "caption", "data-role": "map-legend" }, t("mapLegend")),
    ...Object.entries(STATE_COLOUR).map(([state, colour]) => dot(colour, t("mapState." + state))),
    el("span", { class: "dot-label", "data-legend": "stale" }, el("i", { class: "dot", style: `background:${STALE_COLOUR}` }), tf("legendStale", { grace })),
    el("span", { class: "caption" }, `${t("alerts")}:`),
    ...["medium", "high", "critical"].map((s) => dot(SEVERITY_COLOUR[s], t("severity." + s))));
}

// Greyed, with its age, when its data is older than its kind allows.
function markStale(node, item) {
  const age = item ? staleAge(item) : null;
  if (age === null) {
    if (node.dataset.stale) { delete node.dataset.stale; node.removeAttribute("title"); }
    return null;
  }
  node.dataset.stale = "true";
  node.title = `${t("stale")}: ${ageText(age)}`;
  return el("span", { class: "age" }, ageText(age));
}

function stationCard(station, item) {
  const card = el("div", { class: "station", "data-station": station.id });
  const band = item && item.band ? bandOf(item.band) : null;
  card.style.borderLeftColor = band ? band.color : "#555";
  card.dataset.aqi = item && item.aqi != null ? String(item.aqi) : "";
  const dominant = item && item.dominant ? POLLUTANT_LABEL[item.dominant] : "–";
  card.append(
    el("div", { class: "name", title: localName(station), "data-name-of": station.id }, localName(station)),
    el("div", { class: "aqi" }, item && item.aqi != null ? String(item.aqi) : "–"),
    el("div", { class: "band", style: band ? `color:${band.color}` : "" }, band ? bandName(band) : t("noData")),
    el("div", { class: "detail" }, `${dominant} · ${item ? vnTime(item.t).slice(0, 5) : ""}`));
  const age = markStale(card, item);
  if (age) card.append(age);
  return card;
}

function renderEnvironment() {
  for (const area of wall.city.areas) {
    const col = document.querySelector(`[data-area="${area.id}"]`);
    const stations = wall.city.stations.filter((s) => s.area === area.id);
    const aq = stations.filter((s) => s.type === "AirQualityObserved");
    col.querySelector('[data-role="stations"]').replaceChildren(...aq.map((s) => stationCard(s, wall.items.get(`aqi:${s.id}`))));
    const worst = aq.map((s) => wall.items.get(`aqi:${s.id}`)).filter((i) => i && i.aqi != null).reduce((m, i) => Math.max(m, i.aqi), -1);
    col.querySelector('[data-role="worst"]').textContent = worst >= 0 ? `VN_AQI ${t("worst")} ${worst}` : "";
    const wx = stations.filter((s) => s.type === "WeatherObserved").map((s) => wall.items.get(`weather:${s.id}`)).find(Boolean);
    const wxNode = col.querySelector('[data-role="weather"]');
    wxNode.textContent = wx
      ? `${wx.temperature.toFixed(1)} °C · ${t("humidity")} ${(wx.relativeHumidity * 100).toFixed(0)}% · ${t("wind")} ${wx.windSpeed.toFixed(1)} m/s · ${t("rain")} ${wx.precipitation.toFixed(1)} mm`
      : "—";
    const wxAge = markStale(wxNode, wx);
    if (wxAge) wxNode.append(" · ", wxAge);
    const rows = stations.filter((s) => s.type === "FloodMonitoring").map((s) => {
      const w = wall.items.get(`water:${s.id}`);
      const row = el("li", { "data-gauge": s.id }, el("span", { "data-name-of": s.id }, localName(s)),
        w ? el("span", {}, `${w.currentLevel.toFixed(2)} m `, el("span", { class: "pill", "data-status": w.status }, t("flood." + w.status)))
          : el("span", {}, "–"));
      const age = markStale(row, w);
      if (age) row.lastChild.prepend(age, " ");
      return row;
    });
    col.querySelector('[data-role="water"] ul').replaceChildren(...rows);
  }
}

function kpiText(kpi, value) {
  if (value == null) return "–";
  if (kpi === "flood") return value === 0 ? "0" : t("flood." + floodStatus(Math.round(value)));
  if (kpi === "air") return String(Math.round(value));
  return `${value.toFixed(kpi === "health" ? 0 : 1)}${KPI_UNIT[kpi] === "%" ? "%" : " " + KPI_UNIT[kpi]}`;
}

function renderTiles() {
  for (const area of wall.city.areas) {
    const tiles = KPI_ORDER.map((kpi) => {
      const item = wall.items.get(`kpi:${area.id}:${kpi}`);
      const tile = el("div", { class: "tile", "data-kpi": kpi, "data-standing": item ? item.standing : "" },
        el("div", { class: "label", title: t("kpi." + kpi) }, t("kpiShort." + kpi)),
        el("div", { class: "value" }, kpiText(kpi, item ? item.value : null)),
        el("div", { class: "standing", style: item ? `color:${STANDING_COLOUR[item.standing]}` : "" }, item ? t("standing." + item.standing) : ""),
        el("div", { class: "n" }, item ? `n = ${item.entities}` : ""));
      tile.style.borderTopColor = item ? STANDING_COLOUR[item.standing] : "#555";
      const age = markStale(tile, item);
      if (age) tile.querySelector(".n").replaceChildren(age);
      return tile;
    });
    document.querySelector(`[data-area="${area.id}"] [data-role="tiles"]`).replaceChildren(...tiles);
    markArea(area, tiles);
  }
}

// An area whose KPIs are all stale is stale as a whole: its heading says since when.
function markArea(area, tiles) {
  const section = document.querySelector(`[data-area="${area.id}"]`);
  const items = KPI_ORDER.map((kpi) => wall.items.get(`kpi:${area.id}:${kpi}`)).filter(Boolean);
  const ages = items.map((i) => staleAge(i));
  const stale = items.length > 0 && ages.every((a) => a !== null) && tiles.length > 0;
  const note = section.querySelector('[data-role="area-age"]');
  if (stale) section.dataset.stale = "true"; else delete section.dataset.stale;
  note.textContent = stale ? `${t("stale")} · ${ageText(Math.min(...ages))}` : "";
}

function renderStatus() {
  const mode = document.getElementById("mode");
  if (wall.mode) {
    mode.dataset.mode = wall.mode.kind;
    const m = wall.mode;
    const speed = m.speed === null ? " max" : m.speed && m.speed !== 1 ? ` ×${m.speed}` : "";
    const state = m.state === "paused" || m.state === "finished" ? ` · ${t("replay." + m.state)}` : "";
    mode.textContent = (m.kind === "replay" ? "REPLAY" : "LIVE") + speed + state;
    mode.dataset.state = m.state || "";
    mode.title = m.job ? `${t("replayJob")} ${m.job} · ${m.namespace}` : m.namespace;
    renderReplayControls(m);
  }
  if (feedDead()) { mode.dataset.mode = "dead"; mode.textContent = t("modeDead"); }
  renderScenario();
  renderHealth();
  if (wall.me) document.getElementById("role").textContent = `${t("role." + wall.me.role)} · ${wall.me.name}`;
  const conn = document.getElementById("conn");
  conn.textContent = t({ open: "connOpen", closed: "connLost", connecting: "connecting" }[conn.dataset.state]);
  Sound.label();
  renderClock();
}

// Engineers steer a replay from the wall: pause/resume and seek to a simulated time (Vietnam time).
// A replay that stays after its end (`ioc replay --watch`) can still be sought, not paused.
function renderReplayControls(m) {
  const open = m.state !== "finished" || m.stays;
  const steer = m.kind === "replay" && m.job && open && wall.me && wall.me.may_engineer;
  document.getElementById("replay-controls").hidden = !steer;
  if (!steer) return;
  const toggle = document.getElementById("replay-toggle");
  toggle.hidden = m.state === "finished";
  toggle.dataset.action = m.state === "paused" ? "resume" : "pause";
  toggle.textContent = t(m.state === "paused" ? "replayResume" : "replayPause");
  followClock(document.getElementById("replay-at"), simNow(), m.span);
}

async function replayCommand(action, body) {
  const options = { method: "POST" };
  if (body) options.body = JSON.stringify(body);
  const r = await api(`/api/replay/${action}`, options);
  if (r.status !== 202) toast(await refusalText(r, t("forbidden")));
}

function wireReplayControls() {
  const toggle = document.getElementById("replay-toggle");
  toggle.onclick = () => replayCommand(toggle.dataset.action);
  const at = document.getElementById("replay-at");
  at.oninput = () => { at.dataset.edited = "true"; };
  const seek = () => {
    const span = wall.mode && wall.mode.span;
    const problem = seekProblem(at.value, span);
    if (problem) { toast(problem); return; }
    delete at.dataset.edited; // back on the replay's clock once sent
    replayCommand("seek", { sim_ms: parseSeek(at.value) });
  };
  document.getElementById("replay-seek").onclick = seek;
  at.onkeydown = (e) => { if (e.key === "Enter") seek(); };
}

// The scenario the simulator plays and its stage, in the page's language; "normal city" once it ended.
function renderScenario() {
  const node = document.getElementById("scenario");
  const sc = wall.mode && wall.mode.scenario;
  const phase = sc ? sc.phase : "none";
  node.hidden = phase === "none";
  node.dataset.phase = phase;
  if (phase === "none") { node.textContent = ""; return; }
  const en = LANG === "en";
  const title = (en ? sc.title_en : sc.title) || sc.scenario;
  const stage = en ? sc.stage_title_en : sc.stage_title;
  const where = phase === "playing" ? (stage ? tf("scenario.stage", { stage }) : t("scenario.between")) : t(`scenario.${phase}`);
  node.textContent = `${title} — ${where}`;
  node.title = node.textContent;
}

// Whether the data is current. Dead (the websocket closed, or the wall red: no worker, the broker cut, no new
// data): a large overlay says what is wrong and since when, the clock stops, LIVE is replaced. The broker's
// loss of what it held stays an amber line under the header.
function renderHealth() {
  const h = wall.health;
  const lines = [];
  if (wall.connState === "closed") lines.push(tf("dead.ws", { since: vnDateTime(wall.connSince) }));
  if (h && h.status === "red") {
    for (const p of grouped(h.problems || [])) {
      lines.push(tf(`health.${p.code}`, { since: vnDateTime(p.since), partition: p.partition, lag: p.lag ?? "" }));
    }
  }
  const dead = feedDead();
  const overlay = document.getElementById("dead");
  overlay.hidden = !dead;
  overlay.style.top = `${document.querySelector("header.bar").offsetHeight}px`; // the header stays in sight
  document.body.classList.toggle("wall-dead", dead);
  document.getElementById("dead-title").textContent = dead ? t(wall.connState === "closed" ? "dead.titleWs" : "health.red") : "";
  const clock = wall.simTime ? tf("dead.clock", { clock: vnDateTime(simNow()) }) : "";
  document.getElementById("dead-text").replaceChildren(...[...lines, clock].filter(Boolean).map((line) => el("div", {}, line)));
  const box = document.getElementById("health");
  const loss = h && h.data_loss;
  box.hidden = !loss;
  box.dataset.status = "loss";
  document.getElementById("health-state").textContent = "";
  const last = loss ? (loss.last_sim ? vnDateTime(loss.last_sim) : vnDateTime(loss.at)) : "";
  document.getElementById("health-text").replaceChildren(...(loss ? [el("span", {}, tf("health.lost", { at: vnDateTime(loss.at), last }))] : []));
}

// Every second: what turned stale, or aged by a minute, is drawn again (no message needs to arrive for it).
function checkStale() {
  const now = staleMinutes();
  let changed = false;
  for (const key of new Set([...now.keys(), ...wall.stale.keys()])) {
    if (now.get(key) === wall.stale.get(key)) continue;
    const item = wall.items.get(key);
    dirty.keys.add(key);
    if (item) dirty.kinds.add(item.kind);
    changed = true;
  }
  wall.stale = now;
  if (changed) scheduleRender();
}

// The clock runs between data ticks: the newest event time, advanced at the run's speed.
function renderClock() {
  if (wall.simTime) document.getElementById("clock").textContent = vnTime(simNow());
}

function render() {
  const all = dirty.all;
  const kinds = dirty.kinds;
  if (all || ENV_KINDS.some((k) => kinds.has(k))) renderEnvironment();
  if (all || kinds.has("kpi")) renderTiles();
  if (all || kinds.has("alert")) Alerts.render();
  if (all) AreaMaps.updateAll(); else AreaMaps.update(dirty.keys);
  if (wall.kiosk && (all || dirty.keys.size)) renderWatch();
  if (all) { renderLegend(); Trends.relabel(); Trends.render(simNow()); }
  renderStatus();
  dirty.all = false;
  dirty.keys.clear();
  dirty.kinds.clear();
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

// --- the feed -----------------------------------------------------------------------------------------
function refreshWorstAlerts() {
  const before = wall.worstAlert;
  wall.worstAlert = new Map();
  for (const a of wall.items.values()) {
    if (a.kind !== "alert") continue;
    const held = wall.worstAlert.get(a.entity);
    if (!held || rank(a.severity) > rank(held.severity)) wall.worstAlert.set(a.entity, a);
  }
  for (const entity of new Set([...before.keys(), ...wall.worstAlert.keys()])) {
    const key = AreaMaps.keyOfEntity.get(entity);
    if (key) dirty.keys.add(key);
  }
}

function onMessage(event) {
  const msg = JSON.parse(event.data);
  wall.messages += 1;
  if (msg.type === "snapshot") {
    wall.snapshots += 1;
    wall.items = new Map();
    Trends.load(msg.trends, msg.markers);
    dirty.all = true;
  }
  const alerts = [];
  for (const item of msg.items) {
    if (item.kind === "health") {
      wall.health = item;
      if (msg.type === "delta") wall.simAnchorReal = Date.now();  // a frozen clock resumes from where it stood
    } else if (item.kind === "alert") {
      if (isActive(item.status)) wall.items.set(item.key, item); else wall.items.delete(item.key);
      alerts.push(item);
    } else {
      wall.items.set(item.key, item);
      if (item.kind === "kpi" && msg.type === "delta") Trends.add(item);
    }
    dirty.keys.add(item.key);
    dirty.kinds.add(item.kind);
  }
  if (alerts.length || msg.type === "snapshot") refreshWorstAlerts();
  for (const a of alerts) Alerts.seen(a);
  wall.version = msg.version;
  if ((msg.sim_time || 0) > wall.simTime) {
    wall.simTime = msg.sim_time;
    wall.simAnchorReal = Date.now();
  }
  wall.mode = msg.mode;
  scheduleRender();
}

function connect(attempt = 0) {
  const conn = document.getElementById("conn");
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws?token=${encodeURIComponent(token())}`);
  conn.dataset.state = "connecting";
  ws.onopen = () => { attempt = 0; conn.dataset.state = "open"; renderStatus(); };
  ws.onmessage = (event) => {
    if (wall.connState !== "open") { wall.connState = "open"; wall.simAnchorReal = Date.now(); } // data again
    onMessage(event);
  };
  ws.onclose = async () => {
    conn.dataset.state = "closed";
    if (wall.connState !== "closed") { wall.connState = "closed"; wall.connSince = Date.now(); }
    renderStatus();
    if (attempt >= 2) {
      try { if ((await api("/api/me")).status === 401) { showLogin(t("badToken")); return; } } catch (e) { /* server down */ }
    }
    setTimeout(() => connect(attempt + 1), Math.min(10000, 500 * 2 ** attempt));
  };
}

// `?kiosk=1` (with a viewer's token, `&lang=en` if wanted): an unattended display. Nothing on it takes a
// click or a key; the pointer is hidden; the address keeps the flag, so a reload stays a kiosk.
function kioskFromUrl() {
  const params = new URLSearchParams(location.search);
  if (params.get("lang") === "en" || params.get("lang") === "vi") setLang(params.get("lang"));
  wall.kiosk = params.get("kiosk") === "1";
  document.body.classList.toggle("kiosk", wall.kiosk);
}

async function start() {
  takeTokenFromUrl();
  kioskFromUrl();
  applyStaticLabels();
  document.getElementById("lang").onclick = () => {
    setLang(LANG === "vi" ? "en" : "vi");
    if (!wall.city) return; // switched before /api/city answered: the city is drawn in the new language then
    dirty.all = true;
    drawNames();
    History.relabel();
    scheduleRender();
  };
  document.getElementById("sound").onclick = () => Sound.toggle();
  Sound.label();
  Alerts.wirePopup();
  wireReplayControls();
  const me = await fetchJson("/api/me");
  if (me.refused) { showLogin(token() ? t("badToken") : ""); return; }
  wall.me = me;
  if (!(await loadVocabulary())) { showLogin(t("badToken")); return; }
  wall.gaps = vocabularyGaps();
  for (const gap of wall.gaps) console.error(`not in the vocabulary, or missing for it: ${gap}`);
  wall.city = await fetchJson("/api/city");
  wall.siteById = new Map(wall.city.sites.map((s) => [s.id, s]));
  drawSkeleton();
  AreaMaps.draw(wall.city);
  Trends.build(wall.city);
  History.wire();
  Alerts.wireTabs();
  render();
  let resized = 0;
  window.addEventListener("resize", () => {
    AreaMaps.resize();
    clearTimeout(resized);
    resized = setTimeout(() => Trends.resize(), 250); // once the window has its final size
  });
  setInterval(() => { renderClock(); Trends.render(simNow()); checkStale(); }, 1000);
  connect();
}

function drawNames() {
  for (const area of wall.city.areas) {
    document.querySelector(`[data-area="${area.id}"] [data-role="name"]`).textContent = areaName(area);
  }
  for (const node of document.querySelectorAll("#areas [data-i18n]")) node.textContent = t(node.dataset.i18n);
  const stations = new Map(wall.city.stations.map((s) => [s.id, s]));
  for (const node of document.querySelectorAll("#areas [data-name-of]")) {
    const station = stations.get(node.dataset.nameOf);
    if (station) { node.textContent = localName(station); node.title = localName(station); }
  }
}

start();
