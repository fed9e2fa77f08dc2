"""Does a page fit its window? Measured in the browser, with a full-page screenshot as evidence.

Rules a page must keep at every size it is tested at:
- nothing scrolls sideways: the document is no wider than the viewport;
- every control shown (button, input, select, textarea, link) has a size and lies inside the
  viewport's width, and so does every table cell shown (a cut-off cell is a cut-off fact);
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
    if (r.left < -0.5 || r.right > vw + 0.5)
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
    """Screenshot the page (the whole page, or the window when a dialog is open) to ``shot``,
    then assert it fits its window (see the rules)."""
    page.evaluate("window.scrollTo(0, 0)")  # a sticky header drawn at the top, not mid-page
    page.wait_for_timeout(100)  # a layout pass after the last change
    page.screenshot(path=str(shot), full_page=full_page)
    found: dict[str, Any] = page.evaluate(MEASURE)
    where = f"{shot.name}: {found}"
    assert found["scroll"] <= found["viewport"], f"scrolls sideways, {where}"
    assert found["body"] <= found["viewport"], f"body wider than the window, {where}"
    assert found["outside"] == [], f"controls or cells outside the window, {where}"
    assert found["unlabelled"] == [], f"stacked cells without a label, {where}"
    return found
