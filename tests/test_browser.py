"""What a reader sees: every chapter of the built book in headless Chromium, offline.

Each page is opened from the file system with every request outside it refused, so math,
figures and scripts have to come from the built site itself (a downloaded copy of the HTML must
work in a lecture hall without network). Checked per chapter: math typeset by MathJax (no raw
TeX left in the text), every image loaded, no JavaScript errors, the Colab launch link and the
download buttons present. A full-page screenshot of each chapter goes to ``_build/screenshots/``.

Needs the built book (``python tools/build_book.py``), Playwright's Python package and a Chromium
(``apt-get install chromium``; ``GGD_CHROMIUM`` names another binary). ``.ci/run`` installs
both, so CI never skips this test.
"""

import os
import shutil
from pathlib import Path

import pytest
from test_book import CHAPTERS, HTML, repository

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("GGD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HTML.exists(), reason="book not built: run `python tools/build_book.py` first"),
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"),
        reason="no Chromium: `apt-get install chromium` (or set GGD_CHROMIUM)",
    ),
]

# pydata-sphinx-theme 0.15 logs this once on a reader's first visit (empty localStorage) and then
# falls back to its default; nothing on the page changes. Every other console error fails the test.
KNOWN_THEME_MESSAGES = ("Got invalid theme mode: . Resetting to auto.",)

# Visible text without code blocks: raw TeX left there means MathJax did not typeset it.
VISIBLE_TEXT = """() => {
  const body = document.querySelector('main') || document.body;
  const copy = body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .MathJax').forEach(e => e.remove());
  return copy.textContent;
}"""
IMAGES = """async () => {
  const images = [...document.images];
  await Promise.all(images.map(i => { i.loading = 'eager'; return i.decode().catch(() => null); }));
  return images.map(i => ({src: i.getAttribute('src'), width: i.naturalWidth}));
}"""


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM is not None, "CI must run the browser test: install chromium (see .ci/run)"
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_offline(browser, name):
    """The chapter page, loaded with every non-file request refused; returns (page, errors, refused)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, refused = [], []
    page.on(
        "console", lambda m: errors.append(m.text) if m.type == "error" and m.text not in KNOWN_THEME_MESSAGES else None
    )
    page.on("pageerror", lambda e: errors.append(str(e)))

    def offline(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto((HTML / "book" / f"{name}.html").as_uri(), wait_until="load")
    return page, errors, refused


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_renders_offline(browser, name):
    page, errors, refused = open_offline(browser, name)
    try:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30000)
        page.evaluate("() => MathJax.startup.promise")
        text = page.evaluate(VISIBLE_TEXT)
        for raw in ("\\(", "\\[", "$$"):
            assert raw not in text, f"{name}: raw TeX {raw!r} left in the rendered text"
        if name != "summary":
            assert page.locator("mjx-container").count() > 0, f"{name}: no typeset math"
        images = page.evaluate(IMAGES)
        broken = [i["src"] for i in images if not i["width"]]
        assert not broken, f"{name}: images not loaded: {broken}"
        url, branch = repository()
        assert page.locator(
            f'a[href*="colab.research.google.com"][href*="/blob/{branch}/book/{name}.ipynb"]'
        ).count(), f"{name}: no Colab launch link"
        assert page.locator(f'a[href$="{name}.md"], a[href$="{name}.ipynb"]').count(), (
            f"{name}: no download button for the source"
        )
        assert page.locator('button[onclick*="print"], .btn-download-pdf-button').count(), f"{name}: no PDF button"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        assert not refused, f"{name}: the page needs the network for {refused}"
        assert not errors, f"{name}: JavaScript errors {errors}"
    finally:
        page.close()
