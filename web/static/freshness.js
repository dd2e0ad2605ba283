// Is what the wall shows alive? The IOC's clock as the page shows it (stopped when the feed or the stack is
// gone, or a replay is paused), and each item's age against its kind's expected interval (the kernel's rule,
// ioc/contract/freshness.py, served in /api/vocabulary as `freshness`).
import { t, tf } from "./i18n.js";
import { wall } from "./store.js";
import { vocabulary } from "./vocabulary.js";

// The websocket is closed, or the wall says its data is not current: the whole wall is dead.
export function feedDead() {
  return wall.connState === "closed" || Boolean(wall.health && wall.health.status === "red");
}

// The simulated clock: the newest event time, advanced at the run's speed while data flows.
export function simNow() {
  if (!wall.simTime) return 0;
  if (feedDead()) return wall.simTime; // no news: the clock must not run on
  if (wall.mode && wall.mode.state && wall.mode.state !== "playing") return wall.simTime; // paused, or done
  const speed = (wall.mode && wall.mode.speed) || 1;
  return wall.simTime + (Date.now() - wall.simAnchorReal) * speed;
}

function expected(kind) {
  const f = vocabulary.freshness;
  return f ? f.expected[kind] : undefined;
}

// Simulated ms since the item's data, or null when it carries no time.
export function ageOf(item, now = simNow()) {
  const e = expected(item.kind);
  if (!e || !Number.isInteger(item.t)) return null;
  const asOf = item.t + (e.since === "window_end" && Number.isInteger(item.window_ms) ? item.window_ms : 0);
  return Math.max(0, now - asOf);
}

const HOUR = 3600e3;
const VN = 7 * HOUR; // Vietnam time, no daylight saving

// When today's opening hours began (Vietnam time) if `now` is within them, else null.
function openedAt(hours, now) {
  const local = now + VN;
  const day = new Date(local).getUTCDay() || 7; // ISO weekday, as the kernel keys them
  const span = hours[day];
  const hour = (local % (24 * HOUR)) / HOUR;
  if (!span || hour < span[0] || hour >= span[1]) return null;
  return now - (hour - span[0]) * HOUR;
}

// The item's age when it is stale, else null. Not judged while the data does not come at the clock's pace
// (mode.paced false: as fast as possible, a warm-up history, a wall catching up, paused); nor outside a kind's hours (card readers at night), whose age counts from their opening.
export function staleAge(item, now = simNow()) {
  const e = expected(item && item.kind);
  const speed = wall.mode ? wall.mode.speed : 1;
  if (!e || e.clock !== "sim" || speed === null || !now || (wall.mode && wall.mode.paced === false)) return null;
  const age = ageOf(item, now);
  if (age === null) return null;
  let since = now - age;
  if (e.hours) {
    const opened = openedAt(e.hours, now);
    if (opened === null) return null;
    since = Math.max(since, opened);
  }
  const limit = e.staleMs + vocabulary.freshness.slackRealMs * (speed || 1);
  return now - since > limit ? age : null;
}

// "3 phút trước" / "3 min ago".
export function ageText(ms) {
  const m = Math.floor(ms / 60000);
  const span = m < 60 ? tf("age.m", { m }) : m < 1440 ? tf("age.h", { h: Math.floor(m / 60), m: m % 60 }) : tf("age.d", { d: Math.floor(m / 1440) });
  return tf("age.ago", { age: span });
}

// key → whole minutes of age, for every stale item: the page redraws what changed in it. While the wall is
// dead its clock stands still, so what was stale stays so and nothing else turns stale.
export function staleMinutes(now = simNow()) {
  const out = new Map();
  for (const [key, item] of wall.items) {
    const age = staleAge(item, now);
    if (age !== null) out.set(key, Math.floor(age / 60000));
  }
  return out;
}

export function staleLabel() { return t("stale"); }
