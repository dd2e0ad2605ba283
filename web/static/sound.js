// Three rising beeps through Web Audio (no sound file to ship). A browser lets a page play only after a click
// on it, unless told otherwise (a wall PC started with an autoplay policy): the button says which of on, off
// or blocked holds, and a click on it (or anywhere on the page) lets the sound play where it was blocked.
import { t } from "./i18n.js";

const GAP_MS = 3000; // alarms closer together than this ring once: a burst of alerts is one sound
const OWED_MS = 10_000; // an alarm blocked this recently still rings once the browser lets the page play

export const Sound = {
  ctx: null,
  on: localStorage.getItem("ioc.sound") !== "off",
  alarms: 0, // alarms played (read by the browser tests)
  blocked: 0, // alarms the browser did not let play
  last: -Infinity,
  owedAt: -Infinity,

  // The AudioContext, made once; its state says whether the browser lets it play (Chromium: "suspended"
  // until a user gesture, unless the autoplay policy allows it).
  context() {
    if (this.ctx) return this.ctx;
    try {
      this.ctx = new AudioContext();
      this.ctx.onstatechange = () => this.changed();
    } catch (e) { this.ctx = null; } // no Web Audio at all: the button says blocked
    return this.ctx;
  },

  // "on", "off" or "blocked" (on, but the browser does not let the page play).
  state() {
    if (!this.on) return "off";
    const ctx = this.context();
    return ctx && ctx.state === "running" ? "on" : "blocked";
  },

  alarm() {
    const state = this.state();
    if (state === "off") return;
    if (state === "blocked") { this.blocked += 1; this.owedAt = performance.now(); return; }
    const now = performance.now();
    if (now - this.last < GAP_MS) return;
    this.last = now;
    this.alarms += 1;
    this.beep(this.ctx);
  },

  beep(ctx) {
    for (let k = 0; k < 3; k++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 660 + 220 * k;
      gain.gain.value = 0.25;
      osc.connect(gain).connect(ctx.destination);
      const at = ctx.currentTime + 0.35 * k;
      osc.start(at);
      osc.stop(at + 0.25);
    }
  },

  changed() {
    this.label();
    if (this.state() === "on" && performance.now() - this.owedAt < OWED_MS) {
      this.owedAt = -Infinity;
      this.alarm();
    }
  },

  // A click on the page is the gesture the browser waits for: try to let the sound play.
  unlock() {
    const ctx = this.on ? this.context() : null;
    if (ctx && ctx.state !== "running") ctx.resume().catch(() => {}).finally(() => this.label());
  },

  // The button: blocked → ask the browser again; on → off; off → on (and ask).
  toggle() {
    if (this.state() === "blocked") { this.unlock(); return; }
    this.on = !this.on;
    localStorage.setItem("ioc.sound", this.on ? "on" : "off");
    this.unlock();
    this.label();
  },

  wire() {
    const unlock = (e) => { if (!e.target.closest || !e.target.closest("#sound")) this.unlock(); }; // the button decides itself
    document.addEventListener("pointerdown", unlock, true);
    document.addEventListener("keydown", unlock, true);
    this.label();
  },

  label() {
    const button = document.getElementById("sound");
    const state = this.state();
    button.dataset.on = String(state === "on");
    button.dataset.state = state;
    button.textContent = t("sound." + state);
    button.title = t("soundHint." + state);
  },
};
