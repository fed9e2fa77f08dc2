"""Does a page fit its window? Measured in the browser, with a screenshot as evidence when not.

Rules a page must keep at every size it is tested at:
- nothing scrolls sideways: the document is no wider than the viewport;
- every control shown (button, input, select, textarea, link) has a size and lies inside the
  viewport's width, and so does every table cell shown (a cut-off cell is a cut-off fact); a
  control in a row made to scroll sideways by itself (marked ``data-scroll-row``, like the desk's
  tabs) counts as inside when that row lies inside the window and does scroll: it is reached by
  scrolling the row;
- a table shown as stacked rows keeps its labels: a cell whose table's header row is hidden has a
  ``data-label`` that says what it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MEASURE = """() => {
  const vw = document.documentElement.clientWidth;
  const shown = (e) => e.checkVisibility({ checkOpacity: false, checkVisibilityCSS: true });
  const name = (e) => e.dataset.testid || e.id || e.name || e.textContent.trim().slice(0, 30)
    || e.outerHTML.slice(0, 60);
  // The row made to scroll sideways that holds e, if it lies inside the window and scrolls.
  const scroller = (e) => {
    const row = e.closest("[data-scroll-row]");
    if (!row || !["auto", "scroll"].includes(getComputedStyle(row).overflowX)) return null;
    const r = row.getBoundingClientRect();
    return r.left >= -0.5 && r.right <= vw + 0.5 ? row : null;
  };
  const outside = [];
  for (const e of document.querySelectorAll("button, input, select, textarea, a[href], td, th")) {
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) {
      if (!e.closest(".sr-only")) outside.push(`${e.tagName.toLowerCase()} ${name(e)}: no size`);
      continue;
    }
    if (e.closest(".sr-only")) continue;
    const [left, right] = [Math.round(r.left), Math.round(r.right)];
    if ((r.left < -0.5 || r.right > vw + 0.5) && !scroller(e))
      outside.push(`${e.tagName.toLowerCase()} ${name(e)}: ${left}..${right}`);
  }
  const unlabelled = [...document.querySelectorAll("td")].filter((td) => {
    if (!shown(td)) return false;
    const head = td.closest("table").querySelector("thead");
    return head && !shown(head) && !(td.dataset.label || "").trim();
  }).map((td) => td.textContent.trim().slice(0, 30));
  return { viewport: vw, scroll: document.documentElement.scrollWidth,
           body: document.body.scrollWidth, outside, unlabelled };
}"""


def assert_fits(page: Any, shot: Path, full_page: bool = True) -> dict[str, Any]:
    """Assert the page fits its window (see the rules); when it does not, a screenshot (the
    whole page, or the window when a dialog is open) is saved to ``shot`` first, as evidence.
    (Only then: a full-page screenshot costs Chromium a fifth of a second or more.)"""
    page.evaluate("window.scrollTo(0, 0)")  # a sticky header drawn at the top, not mid-page
    page.wait_for_timeout(100)  # a layout pass after the last change
    found: dict[str, Any] = page.evaluate(MEASURE)
    fits = (found["scroll"] <= found["viewport"] and found["body"] <= found["viewport"]
            and found["outside"] == [] and found["unlabelled"] == [])
    if not fits:
        page.screenshot(path=str(shot), full_page=full_page)
    where = f"{shot.name} (screenshot at {shot}): {found}"
    assert found["scroll"] <= found["viewport"], f"scrolls sideways, {where}"
    assert found["body"] <= found["viewport"], f"body wider than the window, {where}"
    assert found["outside"] == [], f"controls or cells outside the window, {where}"
    assert found["unlabelled"] == [], f"stacked cells without a label, {where}"
    return found


# Each select shown, with the width its text gets (its box less padding, border and the arrow
# Chromium draws) and the width of its longest option's text in the select's own font.
SELECTS = """() => {
  const canvas = document.createElement("canvas").getContext("2d");
  const shown = (e) => e.checkVisibility({ checkOpacity: false, checkVisibilityCSS: true });
  return [...document.querySelectorAll("select")].filter(shown).map((s) => {
    const style = getComputedStyle(s);
    canvas.font = style.font;
    const px = (name) => parseFloat(style[name]) || 0;
    const room = s.getBoundingClientRect().width - px("paddingLeft") - px("paddingRight")
      - px("borderLeftWidth") - px("borderRightWidth") - ARROW;
    const texts = [...s.options].map((o) => o.textContent.trim());
    const wide = (t) => canvas.measureText(t).width;
    const longest = texts.reduce((a, b) => (wide(b) > wide(a) ? b : a), "");
    return { name: s.dataset.testid || s.id || s.name, room: Math.floor(room),
             text: Math.ceil(canvas.measureText(longest).width), longest };
  });
}"""
ARROW_PX = 20  # Chromium's drop-down arrow, drawn inside the select's content box


def assert_selects_readable(page: Any, where: str) -> list[dict[str, Any]]:
    """Every select shown is wide enough for its longest option's text (none cut off)."""
    found: list[dict[str, Any]] = page.evaluate(SELECTS.replace("ARROW", str(ARROW_PX)))
    narrow = [s for s in found if s["room"] < s["text"]]
    assert narrow == [], f"selects narrower than their longest option, {where}: {narrow}"
    return found
