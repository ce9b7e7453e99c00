"""The web app end to end in a real headless Chromium (Debian's ``chromium``, Playwright).

Chromium comes from the machine (``.ci/run`` installs Debian's ``chromium``; a test never
installs system software); Playwright drives it through ``executable_path`` (never
``playwright install``). The screenshots are kept in
``test-artifacts/``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

from test_app import app_lake, free_port  # noqa: E402

CHROMIUM = os.environ.get("MODELLAKE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def ensure_chromium() -> str:
    """The Chromium binary (``.ci/run`` provides it; tests never install system software)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (.ci/run does) or set "
                    "MODELLAKE_CHROMIUM")
    return CHROMIUM


@pytest.fixture(scope="module")
def served(agent_lake_template, tmp_path_factory):
    from modellake.agent import Agent
    from modellake.ui.app import create_app

    lake_dir = app_lake(agent_lake_template, tmp_path_factory.mktemp("browser"))
    agent = Agent(lake_dir, llm="builtin")
    app = create_app(lake_dir, agent)
    port = free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                       quiet=True, share=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
        agent.close()


@pytest.fixture(scope="module")
def page():
    exe = ensure_chromium()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=ARGS, headless=True)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 1100})
            yield pg
        finally:
            browser.close()


def test_ask_see_answer_and_tool_step_then_lineage_graph(served, page):
    from modellake.ui.handlers import LINEAGE_UNAVAILABLE, lineage_api

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(served, wait_until="load", timeout=60_000)
    page.locator("#question textarea").wait_for(timeout=60_000)
    assert "builtin" in page.locator("#backend").inner_text()

    page.locator("#question textarea").fill("Which models are derived from tiny-bert?")
    page.locator("#send").click()
    chat = page.locator("#chatbot")
    chat.get_by_text("tiny-bert-ft").first.wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('#chatbot .pending')", timeout=30_000)
    text = chat.inner_text()
    assert "tiny-bert-ft" in text
    assert "Tool: " in text, text  # the tool step's title, a collapsible message
    page.screenshot(path=str(ARTIFACTS / "app-chat.png"), full_page=True)

    page.get_by_role("tab", name="Lineage").click()
    page.get_by_role("button", name="Draw").click()
    if lineage_api() is None:
        page.get_by_text(LINEAGE_UNAVAILABLE).first.wait_for(timeout=30_000)
    else:
        page.locator("#lineage-graph img").first.wait_for(state="visible", timeout=90_000)
        src = page.locator("#lineage-graph img").first.get_attribute("src")
        assert src
    page.screenshot(path=str(ARTIFACTS / "app-lineage.png"), full_page=True)
    assert (ARTIFACTS / "app-lineage.png").stat().st_size > 0


def test_model_page_from_a_link_and_a_search_result_then_the_runs_table(served, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(served + "?model=tiny-bert-ft", wait_until="load", timeout=60_000)
    facts = page.locator("#model-facts")
    facts.get_by_text("tiny-bert-ft").first.wait_for(timeout=60_000)
    lineage = page.locator("#model-lineage")
    lineage.get_by_text("tiny-bert").first.wait_for(timeout=60_000)  # its parent, as a link
    assert lineage.locator("a[href*='?model=tiny-bert']").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "app-model-page.png"), full_page=True)

    page.get_by_role("tab", name="Search").click()
    page.get_by_label("What do you need?").fill("llama chat")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_text("models match").first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "app-search.png"), full_page=True)
    assert "tiny-llama-chat" in page.locator("#search-results").inner_text()

    page.get_by_role("tab", name="Runs").click()
    page.get_by_text("Click a row for its provenance").first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "app-runs.png"), full_page=True)
    for shot in ("app-model-page.png", "app-search.png", "app-runs.png"):
        assert (ARTIFACTS / shot).stat().st_size > 0
