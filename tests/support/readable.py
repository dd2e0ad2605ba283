"""Whether a wall page reads from across the room: every piece of text on screen with its type size, the
text cut by an ellipsis, the panels whose content does not fit them, and the charts' axis type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page

# The kiosk's smallest type, 1.375rem (web/static/wall.css): 22 px at 1920 x 1080, 44 px at 3840 x 2160.
KIOSK_MIN_REM = 1.375

MEASURE = """() => {
  const shown = (e) => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && e.checkVisibility({ visibilityProperty: true }); };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !shown(e) || e.closest("#map-tip, script, style")) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    if (range.getBoundingClientRect().width === 0) continue;
    texts.push({ text: n.textContent.trim().slice(0, 60), px: parseFloat(getComputedStyle(e).fontSize) });
  }
  const clipped = [...document.querySelectorAll("body *")]
    .filter((e) => shown(e) && e.textContent.trim() && getComputedStyle(e).overflow !== "visible"
      && getComputedStyle(e).textOverflow === "ellipsis" && e.scrollWidth > e.clientWidth + 1)
    .map((e) => e.textContent.trim().slice(0, 60));
  const panels = ".area, .chart, .alerts, header.bar, #legend";
  const cut = [...document.querySelectorAll(panels)].filter(shown)
    .map((e) => ({ panel: e.dataset.area || e.dataset.kpi || e.className,
      cut: e.scrollHeight - e.clientHeight }))
    .filter((p) => p.cut > 1);
  const off = [...document.querySelectorAll(panels)].filter(shown)
    .filter((e) => { const r = e.getBoundingClientRect();
      return r.bottom > innerHeight + 1 || r.right > innerWidth + 1; })
    .map((e) => e.className);
  const axes = [...window.__wall.trends.charts.values()].flatMap((u) => u.axes.map((a) => a.font[1]));
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
  return { texts, clipped, cut, off, axes, rem };
}"""


@dataclass(frozen=True)
class Readability:
    texts: list[dict[str, Any]]  # {text, px}: every visible piece of text
    clipped: list[str]  # text cut short by an ellipsis
    cut: list[dict[str, Any]]  # panels whose content is taller than they are
    off: list[str]  # panels past the screen's edge
    axes: list[float]  # the charts' axis type, px
    rem: float

    @property
    def smallest(self) -> dict[str, Any]:
        return min(self.texts, key=lambda t: float(t["px"]))


def measure(page: Page) -> Readability:
    """The page as it is drawn now."""
    got = page.evaluate(MEASURE)
    return Readability(got["texts"], got["clipped"], got["cut"], got["off"], got["axes"], got["rem"])


def assert_reads_across_the_room(page: Page, min_px: float) -> Readability:
    """No text under `min_px`, none cut short, every panel's content inside it and on screen."""
    r = measure(page)
    assert r.texts, "no text on the page"
    small = [t for t in r.texts if float(t["px"]) < min_px]
    assert not small, small[:10]
    assert min(r.axes) >= min_px, r.axes
    assert r.clipped == [], r.clipped
    assert r.cut == [], r.cut
    assert r.off == [], r.off
    return r
