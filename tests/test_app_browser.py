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
def browser_lake(agent_lake_template, tmp_path_factory) -> Path:
    return app_lake(agent_lake_template, tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def served(browser_lake):
    """The app over a copy of the test lake, as a logged-in person sees it."""
    from modellake.agent import Agent
    from modellake.ui.app import create_app

    lake_dir = browser_lake
    agent = Agent(lake_dir, llm="builtin")
    app = create_app(lake_dir, agent, allow_changes=True)  # as after a login: uploads allowed
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
    # the answer as a reader sees it (visible text), once the stream has written it
    page.wait_for_function("() => (document.querySelector('#chatbot')?.innerText || '').includes('tiny-bert-ft')",
                           timeout=60_000)
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


# -- helpers for Gradio's components --------------------------------------------------------
def column(page, table: str, col: int) -> list[str]:
    """The texts of column ``col`` of a (virtualised) Gradio table, in the order shown."""
    js = ("rows => rows.sort((a, b) => a.dataset.index - b.dataset.index)"
          f".map(r => r.querySelector('[data-testid$=\"-{col}\"]').innerText.trim())")
    return page.locator(f"{table} .virtual-row").evaluate_all(js)


def sort_by(page, table: str, col: int, how: str) -> None:
    """Sort a table with its column menu (Gradio's ⋮ button), as a person does."""
    header = page.locator(f"{table} [data-testid=header-{col}]")
    header.hover()  # the ⋮ button shows under the pointer
    header.locator("button.cell-menu-button").click()
    page.get_by_text(f"Sort {how}", exact=True).click()


def pick(page, dropdown: str, value: str) -> None:
    """Choose ``value`` in a Gradio dropdown by typing it and picking the option."""
    box = page.locator(f"{dropdown} input")
    box.click()
    box.fill(value)
    page.get_by_role("option", name=value, exact=True).click()


def test_a_search_result_and_a_chat_answer_open_model_pages(served, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(served, wait_until="load", timeout=60_000)
    page.get_by_role("tab", name="Search").click()
    page.get_by_label("What do you need?").fill("llama chat")
    page.get_by_role("button", name="Search", exact=True).click()
    hit = page.locator("#search-results .virtual-row").get_by_text("tiny-llama-chat", exact=True)
    hit.first.click(timeout=60_000)
    facts = page.locator("#model-facts")
    facts.get_by_text("tiny-llama-chat").first.wait_for(timeout=60_000)
    assert page.get_by_role("tab", name="Model").get_attribute("aria-selected") == "true"
    assert "Pick a model" not in facts.inner_text()

    page.get_by_role("tab", name="Chat").click()
    page.locator("#question textarea").fill("Which models are derived from tiny-bert?")
    page.locator("#send").click()
    link = page.locator("#chatbot a[href='?model=tiny-bert-ft']").first
    link.wait_for(timeout=60_000)
    with page.context.expect_page() as opened:  # links open the page beside the chat
        link.click()
    model_page = opened.value
    try:
        model_page.locator("#model-facts").get_by_text("tiny-bert-ft").first.wait_for(timeout=60_000)
        model_page.locator("#model-lineage a[href*='?model=tiny-bert']").first.wait_for(timeout=60_000)
        model_page.screenshot(path=str(ARTIFACTS / "app-model-page-from-chat.png"), full_page=True)
    finally:
        model_page.close()


def test_runs_table_sorts_and_filters_and_shows_provenance(served, page):
    page.goto(served, wait_until="load", timeout=60_000)
    page.get_by_role("tab", name="Runs").click()
    page.get_by_text("Click a row for its provenance").first.wait_for(timeout=60_000)
    page.locator("#runs-table .virtual-row").first.wait_for(timeout=30_000)
    values = column(page, "#runs-table", 3)
    assert len(set(values)) >= 2, values  # the test lake reports runs with different values
    numbers = sorted(float(v) for v in values)
    sort_by(page, "#runs-table", 3, "ascending")
    assert [float(v) for v in column(page, "#runs-table", 3)] == numbers
    sort_by(page, "#runs-table", 3, "descending")
    assert [float(v) for v in column(page, "#runs-table", 3)] == numbers[::-1]
    page.screenshot(path=str(ARTIFACTS / "app-runs-sorted.png"), full_page=True)

    first_model = column(page, "#runs-table", 0)[0]
    page.locator("#runs-table .virtual-row").first.locator("[data-testid$='-0']").click()
    info = page.locator("#run-provenance")
    info.get_by_text(first_model).first.wait_for(timeout=30_000)

    models = sorted(set(column(page, "#runs-table", 0)))
    pick(page, "#runs-model-filter", models[0])
    page.wait_for_function(
        "n => [...document.querySelectorAll('#runs-table .virtual-row [data-testid$=\"-0\"]')]"
        ".every(c => c.innerText.trim() === n)", arg=models[0], timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "app-runs-filtered.png"), full_page=True)


def test_lake_filter_and_its_details_follow(served, page):
    page.goto(served, wait_until="load", timeout=60_000)
    page.get_by_role("tab", name="Lake").click()
    page.locator("#models .virtual-row").first.wait_for(timeout=30_000)
    everything = column(page, "#models", 0)
    page.locator("#lake-filter textarea, #lake-filter input").first.fill("llama")
    page.locator("#lake-filter textarea, #lake-filter input").first.press("Enter")
    page.wait_for_function(  # the filter reads name, format and architecture
        "() => [...document.querySelectorAll('#models .virtual-row')]"
        ".every(r => r.innerText.includes('llama'))", timeout=30_000)
    shown = column(page, "#models", 0)
    assert shown and len(shown) < len(everything), (shown, everything)
    page.locator("#lake-details").get_by_text(shown[0]).first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "app-lake-filtered.png"), full_page=True)


def test_draft_then_audit_a_card(served, page):
    page.goto(served, wait_until="load", timeout=60_000)
    page.get_by_role("tab", name="Card").click()
    pick(page, "#card-model", "tiny-bert-ft")
    page.get_by_role("button", name="Draft card").click()
    editor = page.locator("#card-editor .cm-content")
    editor.get_by_text("tiny-bert-ft").first.wait_for(timeout=60_000)
    preview = page.locator("#card-preview")
    preview.locator("h1, h2").first.wait_for(timeout=30_000)  # the draft, rendered
    page.get_by_role("button", name="Audit").click()
    findings = page.locator("#card-findings")
    findings.locator("p, li, table").first.wait_for(timeout=60_000)
    assert findings.inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "app-card.png"), full_page=True)


def test_upload_a_model_folder(served, browser_lake, page, tmp_path):
    from conftest import tiny_bert

    from modellake.store.lake import Lake

    folder = tmp_path / "my-bert"
    tiny_bert(5).save_pretrained(folder)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# my-bert\nA tiny BERT for the upload test.\n")
    page.goto(served, wait_until="load", timeout=60_000)
    page.get_by_role("tab", name="Ingest").click()
    page.locator("#ingest-name input, #ingest-name textarea").first.fill("uploaded-bert")
    page.locator("#ingest-folder input[type=file]").set_input_files(folder)
    page.wait_for_function("() => ['config', 'safetensors', 'README'].every(w => "
                           "document.querySelector('#ingest-folder').innerText.includes(w))", timeout=60_000)
    page.get_by_role("button", name="Ingest upload").click()
    result = page.locator("#ingest-result")
    result.get_by_text("uploaded-bert").first.wait_for(timeout=120_000)
    assert "⚠️" not in result.inner_text(), result.inner_text()
    page.screenshot(path=str(ARTIFACTS / "app-ingest-folder.png"), full_page=True)
    with Lake.open(browser_lake).catalog() as cat:
        model = cat.get_model("uploaded-bert")
    assert model.card is not None and "upload test" in model.card.text
    assert {f.path.rsplit("/", 1)[-1] for f in model.files} >= {"config.json", "model.safetensors"}
