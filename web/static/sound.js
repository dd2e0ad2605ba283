// Three rising beeps through Web Audio (no sound file to ship); the wall enables it with one click.
import { t } from "./i18n.js";

export const Sound = {
  ctx: null,
  on: localStorage.getItem("ioc.sound") !== "off",
  alarms: 0, // read by the browser tests

  alarm() {
    if (!this.on) return;
    this.alarms += 1;
    try {
      this.ctx = this.ctx || new AudioContext();
      this.ctx.resume();
      for (let k = 0; k < 3; k++) {
        const osc = this.ctx.createOscillator();
        const gain = this.ctx.createGain();
        osc.frequency.value = 660 + 220 * k;
        gain.gain.value = 0.25;
        osc.connect(gain).connect(this.ctx.destination);
        const at = this.ctx.currentTime + 0.35 * k;
        osc.start(at);
        osc.stop(at + 0.25);
      }
    } catch (e) { /* no audio device: the pop-up still shows */ }
  },

  toggle() {
    this.on = !this.on;
    localStorage.setItem("ioc.sound", this.on ? "on" : "off");
    this.label();
    if (this.on && this.ctx) this.ctx.resume();
  },

  label() {
    const button = document.getElementById("sound");
    button.dataset.on = String(this.on);
    button.textContent = t(this.on ? "soundOn" : "soundOff");
  },
};
