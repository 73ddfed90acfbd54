"""Helpers for the browser tests: Debian's Chromium (driven by Playwright through its executable
path: Playwright's own browser download does not work here), signing in, axe-core."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def axe_violations(page: Page, screen: str) -> list[dict[str, Any]]:
    """axe-core injected into the page, WCAG 2.x A and AA plus best practices; the violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    AXE_RESULTS[screen] = found
    return found


def no_axe_violations(page: Page, screen: str) -> None:
    found = axe_violations(page, screen)
    assert found == [], f"axe on {screen}: {json.dumps(found, indent=1)}"


def no_axe_violations_in_either_theme(page: Page, screen: str) -> None:
    """axe on this screen as the system's light theme shows it, then its dark one (the app follows
    prefers-color-scheme until the learner picks a theme), back in light after. The background is
    checked to have changed, so a theme that stopped following the system fails here too."""
    background = "() => getComputedStyle(document.documentElement).backgroundColor"
    page.emulate_media(color_scheme="light")
    light = page.evaluate(background)
    no_axe_violations(page, screen)
    page.emulate_media(color_scheme="dark")
    try:
        assert page.evaluate(background) != light, f"{screen}: the dark theme did not apply"
        no_axe_violations(page, f"{screen}, dark")
    finally:
        page.emulate_media(color_scheme="light")


def words(language: str, key: str, **values: str | int) -> str:
    """The interface's words in a language, from the web app's catalogue (web/src/i18n), with
    their {placeholders} filled: a test of a German screen finds what a German reader sees."""
    text = str(json.loads((ROOT / "web" / "src" / "i18n" / f"{language}.json").read_text(encoding="utf-8"))[key])
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text
