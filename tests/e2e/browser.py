"""Helpers for the browser tests: Debian's Chromium (driven by Playwright through its executable
path: Playwright's own browser download does not work here), signing in, axe-core."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
# Screenshots and what axe found go to the docs when asked (`UPDATE_DOCS=1 make test`), else to
# .flowgen/ (git-ignored): a test run never leaves the working tree changed.
DOCS_OUT = ROOT / "docs" if os.environ.get("UPDATE_DOCS") else ROOT / ".flowgen" / "test-output"
SCREENSHOTS = DOCS_OUT / "screenshots"
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_RESULTS: dict[str, list[dict[str, Any]]] = {}  # what axe found on each screen, for docs/web-axe.json


def sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My courses").wait_for()


def create_course(page: Page, prompt: str) -> str:
    page.get_by_role("link", name="New course").click()
    page.get_by_label("What do you want to learn?").fill(prompt)
    page.get_by_role("button", name="Create course").click()
    page.wait_for_url(re.compile(r"#/courses/[0-9a-f]{32}$"))
    return page.url.rsplit("/", 1)[-1]


# What a theme changes: colours. The other theme is checked with the rules that read colours.
THEME_RULES = ["color-contrast", "link-in-text-block"]
BACKGROUND = "() => getComputedStyle(document.documentElement).backgroundColor"


def axe_violations(page: Page, screen: str, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core injected into the page, WCAG 2.x A and AA plus best practices (or only `rules`);
    the violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    # iframes: the only frames are YouTube's embeds, whose content is not ours and cannot load
    # here (no internet): axe waited on each for its frame timeout, half of its time on a lesson
    # screen (the iframe element itself, its title included, is still checked)
    options: dict[str, Any] = {"resultTypes": ["violations"], "iframes": False}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    found: list[dict[str, Any]] = page.evaluate(
        "async (options) => (await axe.run(document, options)).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))",
        options,
    )
    AXE_RESULTS[screen] = found
    return found


def no_axe_violations(page: Page, screen: str) -> None:
    """axe finds nothing on this screen, in the theme it shows and in the other one (issue 26:
    every screen in both themes). The app follows the system's prefers-color-scheme until the
    learner picks a theme, so the other theme is the other system setting, checked with the rules
    that read colours and then put back; the background is checked to have changed, so a theme
    that stopped following the system fails here too. A screen with a theme picked is checked in
    that theme only."""
    found = axe_violations(page, screen)
    assert found == [], f"axe on {screen}: {json.dumps(found, indent=1)}"
    if page.evaluate("() => document.documentElement.dataset.theme !== undefined"):
        return
    dark = bool(page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches"))
    shown = page.evaluate(BACKGROUND)
    other: Literal["light", "dark"] = "light" if dark else "dark"
    page.emulate_media(color_scheme=other)
    try:
        assert page.evaluate(BACKGROUND) != shown, f"{screen}: the {other} theme did not apply"
        found = axe_violations(page, f"{screen}, {other}", THEME_RULES)
        assert found == [], f"axe on {screen} in the {other} theme: {json.dumps(found, indent=1)}"
    finally:
        page.emulate_media(color_scheme="dark" if dark else "light")


def words(language: str, key: str, **values: str | int) -> str:
    """The interface's words in a language, from the web app's catalogue (web/src/i18n), with
    their {placeholders} filled: a test of a German screen finds what a German reader sees."""
    text = str(json.loads((ROOT / "web" / "src" / "i18n" / f"{language}.json").read_text(encoding="utf-8"))[key])
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text
