// The replay's seek box: a simulated time in Vietnam time, written as the page's language writes it
// (vi "18:00 14/10/2025", en "14/10/2025 18:00"; the browser's datetime-local showed the machine's US
// format), following the replay's clock until someone types in it, limited to the recording's span.
import { LANG, t, tf } from "./i18n.js";

const VN_MS = 7 * 3600e3; // Vietnam time, no daylight saving
const pad = (n) => String(n).padStart(2, "0");

export function formatSeek(ms, lang = LANG) {
  const d = new Date(ms + VN_MS);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  const date = `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()}`;
  return lang === "en" ? `${date} ${time}` : `${time} ${date}`;
}

// Epoch ms of "18:00 14/10/2025", "14/10/2025 18:00" (either order, ',' allowed) or ISO "2025-10-14T18:00",
// read as Vietnam time; null when it is none of these or not a real date.
export function parseSeek(text) {
  const s = String(text).trim().replace(",", " ");
  let y, mo, d, h, mi;
  const iso = s.match(/^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})$/);
  const time = s.match(/(?:^|\s)(\d{1,2}):(\d{2})(?:\s|$)/);
  const date = s.match(/(?:^|\s)(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s|$)/);
  if (iso) [y, mo, d, h, mi] = iso.slice(1).map(Number);
  else if (time && date && s.replace(time[0], " ").replace(date[0], " ").trim() === "") {
    [h, mi] = time.slice(1).map(Number);
    [d, mo, y] = date.slice(1).map(Number);
  } else return null;
  if (h > 23 || mi > 59) return null;
  const ms = Date.UTC(y, mo - 1, d, h, mi) - VN_MS;
  const back = new Date(ms + VN_MS);
  return back.getUTCDate() === d && back.getUTCMonth() === mo - 1 ? ms : null; // 31/02 is no date
}

// What is wrong with a seek to `text` for a replay whose recording spans `span` [from, to] ms, or null.
export function seekProblem(text, span) {
  const ms = parseSeek(text);
  if (ms === null) return tf("seek.unreadable", { example: formatSeek(span ? span[0] : Date.UTC(2025, 9, 14, 11)) });
  if (span && (ms < span[0] || ms > span[1])) {
    return tf("seek.outside", { from: formatSeek(span[0]), to: formatSeek(span[1]) });
  }
  return null;
}

// Keep the box on the replay's clock unless someone is typing in it; say the span in its tooltip.
export function followClock(input, simMs, span) {
  if (document.activeElement !== input && !input.dataset.edited && simMs) input.value = formatSeek(simMs);
  input.placeholder = t("seek.format");
  input.title = span ? tf("seek.span", { from: formatSeek(span[0]), to: formatSeek(span[1]) }) : t("replayAt");
}
