// The wall page: draws the city from /api/city, then keeps live values from the /ws feed.
"use strict";

const wall = { city: null, items: new Map(), version: 0, messages: 0, simTime: 0, simAnchorReal: 0, mode: null };
window.__wall = wall; // read by the browser tests

const POLLUTANT_LABEL = { pm25: "PM2.5", pm10: "PM10", no2: "NO₂", o3: "O₃", co: "CO", so2: "SO₂" };
const FLOOD_LABEL = { normal: "bình thường", alert1: "BĐ1", alert2: "BĐ2", alert3: "BĐ3" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function bandOf(level) {
  return wall.city.aqi_bands.find((b) => b.level === level);
}

function vnTime(ms) {
  return new Date(ms).toLocaleTimeString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour12: false });
}

function drawSkeleton() {
  const root = document.getElementById("areas");
  root.replaceChildren();
  for (const area of wall.city.areas) {
    const col = el("section", { class: "area", "data-area": area.id },
      el("h2", {}, area.name, el("span", { class: "worst", "data-role": "worst" }, "")),
      el("div", { class: "section-title" }, "Chất lượng không khí (VN_AQI giờ, tạm tính)"),
      el("div", { class: "stations", "data-role": "stations" }),
      el("div", { class: "section-title" }, "Thời tiết"),
      el("div", { class: "weather", "data-role": "weather" }, "—"),
      el("div", { class: "section-title" }, "Mực nước"),
      el("div", { class: "water", "data-role": "water" }, el("ul")));
    root.append(col);
  }
  const legend = document.getElementById("legend");
  legend.replaceChildren(...wall.city.aqi_bands.map((b) =>
    el("span", { style: `background:${b.color};color:${b.level >= 4 ? "#fff" : "#111"}` }, `${b.lo}–${b.hi} ${b.vi}`)));
}

function stationCard(station, item) {
  const card = el("div", { class: "station", "data-station": station.id });
  const band = item && item.band ? bandOf(item.band) : null;
  card.style.borderLeftColor = band ? band.color : "#555";
  card.dataset.aqi = item && item.aqi != null ? String(item.aqi) : "";
  const dominant = item && item.dominant ? POLLUTANT_LABEL[item.dominant] : "–";
  const pm = item && item.nowcast ? item.nowcast.pm25 : null;
  card.append(
    el("div", { class: "name" }, station.name),
    el("div", { class: "aqi" }, item && item.aqi != null ? String(item.aqi) : "–"),
    el("div", { class: "band", style: band ? `color:${band.color}` : "" }, band ? band.vi : "chưa đủ dữ liệu"),
    el("div", { class: "detail" },
      `chất chính ${dominant} · PM2.5 NowCast ${pm != null ? pm.toFixed(1) : "–"} µg/m³`),
    el("div", { class: "detail" }, item ? `cập nhật ${vnTime(item.t)}` : ""));
  return card;
}

function render() {
  for (const area of wall.city.areas) {
    const col = document.querySelector(`[data-area="${area.id}"]`);
    const stations = wall.city.stations.filter((s) => s.area === area.id);
    const aq = stations.filter((s) => s.type === "AirQualityObserved");
    const cards = aq.map((s) => stationCard(s, wall.items.get(`aqi:${s.id}`)));
    col.querySelector('[data-role="stations"]').replaceChildren(...cards);
    const values = aq.map((s) => wall.items.get(`aqi:${s.id}`)).filter((i) => i && i.aqi != null);
    const worst = values.reduce((m, i) => Math.max(m, i.aqi), -1);
    col.querySelector('[data-role="worst"]').textContent = worst >= 0 ? `cao nhất ${worst}` : "";
    const wx = stations.filter((s) => s.type === "WeatherObserved").map((s) => wall.items.get(`weather:${s.id}`)).find(Boolean);
    col.querySelector('[data-role="weather"]').textContent = wx
      ? `${wx.temperature.toFixed(1)} °C · ẩm ${(wx.relativeHumidity * 100).toFixed(0)}% · gió ${wx.windSpeed.toFixed(1)} m/s · mưa ${wx.precipitation.toFixed(1)} mm`
      : "—";
    const rows = stations.filter((s) => s.type === "FloodMonitoring").map((s) => {
      const w = wall.items.get(`water:${s.id}`);
      return el("li", { "data-gauge": s.id }, el("span", {}, s.name),
        el("span", {}, w ? `${w.currentLevel.toFixed(2)} m ` : "– ",
          el("span", { class: "pill", "data-status": w ? w.status : "" }, w ? FLOOD_LABEL[w.status] : "")));
    });
    col.querySelector('[data-role="water"] ul').replaceChildren(...rows);
  }
}

function renderStatus() {
  const mode = document.getElementById("mode");
  if (wall.mode) {
    mode.dataset.mode = wall.mode.kind;
    const speed = wall.mode.speed && wall.mode.speed !== 1 ? ` ×${wall.mode.speed}` : "";
    mode.textContent = (wall.mode.kind === "replay" ? "REPLAY" : "LIVE") + speed;
  }
  renderClock();
}

// The clock runs between data ticks: the newest event time, advanced at the run's speed.
function renderClock() {
  if (!wall.simTime) return;
  const speed = (wall.mode && wall.mode.speed) || 1;
  const now = wall.simTime + (Date.now() - wall.simAnchorReal) * speed;
  document.getElementById("clock").textContent = vnTime(now);
}
setInterval(renderClock, 1000);

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); renderStatus(); });
}

function onMessage(event) {
  const msg = JSON.parse(event.data);
  wall.messages += 1;
  if (msg.type === "snapshot") wall.items = new Map();
  for (const item of msg.items) wall.items.set(item.key, item);
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
  const ws = new WebSocket(`${proto}://${location.host}/ws`);
  conn.dataset.state = "connecting";
  ws.onopen = () => { attempt = 0; conn.dataset.state = "open"; conn.textContent = "trực tuyến"; };
  ws.onmessage = onMessage;
  ws.onclose = () => {
    conn.dataset.state = "closed";
    conn.textContent = "mất kết nối, đang thử lại";
    const delay = Math.min(10000, 500 * 2 ** attempt);
    setTimeout(() => connect(attempt + 1), delay);
  };
}

async function start() {
  for (;;) {
    try {
      const r = await fetch("/api/city");
      if (r.ok) { wall.city = await r.json(); break; }
    } catch (e) { /* server restarting */ }
    await new Promise((res) => setTimeout(res, 1000));
  }
  drawSkeleton();
  render();
  connect();
}

start();
