"""The real app in a real browser: `streamlit run app.py` on loopback, driven by headless Debian chromium.

Proves what AppTest cannot: that markup in a document (``<script>``, ``<img onerror>``, a
``javascript:`` link) reaches the reader's browser as text and never runs, that uploads work
through the browser's own file input, and that several sessions chatting at once all get their
answers. Skipped without ``/usr/bin/chromium`` or the ``playwright`` package, unless
``REQUIRE_BROWSER_TESTS=1`` (set by ``.ci/run``) turns that into a failure.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import PROJECT, free_port, make_project, running_server

from assistant.evaluation import load_cases, missing_facts

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT / "test-artifacts"
STARTUP_SECONDS = 90  # the server starts; then the first session loads the model and indexes
ANSWER_MS = 60_000
LOAD_QUESTIONS = ["kremlin-spokesman", "interview-outlet", "aid-amount", "envoy-name"]

SCRIPT, IMG, LINK = "<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "[click](javascript:alert(3))"
HOSTILE_DOCUMENT = f"""# Harbour festival notes

The Zorblat harbour festival opens on the first Sunday of June.

The Zorblat harbour festival banner reads {SCRIPT} in red letters, its poster shows {IMG} above the pier, and its ticket page says {LINK} to book.
"""
HOSTILE_QUESTION = "What does the Zorblat harbour festival banner read?"
INJECTED = """() => [
    ...document.querySelectorAll("img[src='x'], [onerror], a[href^='javascript' i], iframe, object, embed"),
    ...[...document.scripts].filter(s => s.textContent.includes("alert(")),
].map(e => e.outerHTML.slice(0, 120))"""

# Until no animation runs in the element: a re-render can cancel one (its `finished` then rejects with
# AbortError, which failed a CI run) and start another, so wait again until none is left.
SETTLED = """async e => {
    for (let animations; (animations = e.getAnimations({subtree: true})).length;) {
        await Promise.allSettled(animations.map(a => a.finished));
    }
}"""


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`streamlit run app.py` on a free loopback port over a project whose seeds hold a hostile document."""
    if reason := _missing():
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(f"browser tests are required here but cannot run: {reason}")
        pytest.skip(reason)
    root = make_project(tmp_path_factory.mktemp("browser"))
    (root / "seeds" / "harbour_festival.md").write_text(HOSTILE_DOCUMENT, encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    env = {**os.environ, "ASSISTANT_ROOT": str(root)}
    with running_server("streamlit", command, url + "/_stcore/health", root / "streamlit.log", STARTUP_SECONDS, cwd=PROJECT, env=env):
        yield url


@pytest.fixture(scope="module")
def browser(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_chat(browser, url: str):
    """A new browser session on the app, with every request beyond loopback refused and dialogs recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost") else route.abort())
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector("[data-testid=stChatInputTextArea]", timeout=STARTUP_SECONDS * 1000)
    return page


def send(page, question: str) -> int:
    """Type a question into the chat and send it; returns how many chat messages there were before."""
    before = page.locator("[data-testid=stChatMessage]").count()
    page.fill("[data-testid=stChatInputTextArea]", question)
    page.keyboard.press("Enter")
    return before


def wait_for_answer(page, before: int):
    """The answer's chat message, once the script run that writes it has finished."""
    page.wait_for_function(
        """n => document.querySelectorAll('[data-testid=stChatMessage]').length >= n + 2
              && document.querySelector('[data-testid=stApp]').dataset.testScriptState === 'notRunning'""",
        arg=before, timeout=ANSWER_MS,
    )
    return page.locator("[data-testid=stChatMessage]").last


def assert_nothing_ran(page) -> None:
    """No alert() fired and none of the elements a document's markup would create exists."""
    assert page.evaluate(INJECTED) == []
    assert page.dialogs == []


def test_document_markup_is_shown_as_text_and_never_runs(browser, app_url):
    page = open_chat(browser, app_url)
    answer = wait_for_answer(page, send(page, HOSTILE_QUESTION))
    assert_nothing_ran(page)
    shown = answer.inner_text()
    for payload in (SCRIPT, IMG, LINK):
        assert shown.count(payload) == 1, (payload, shown)  # in its quote, which is the answer: never shown twice
    assert "seeds/harbour_festival.md" in shown

    expander = answer.locator("[data-testid=stExpander]").first
    expander.locator("summary").click()
    highlight = expander.locator("[data-testid=stExpanderDetails]")
    highlight.wait_for(state="visible", timeout=10_000)
    expander.evaluate(SETTLED)  # fully open in the screenshot
    passage = highlight.inner_text()
    for payload in (SCRIPT, IMG, LINK):
        assert payload in passage, (payload, passage)
    assert SCRIPT in highlight.locator("strong").first.inner_text()  # the quote is the highlighted part

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    assert_nothing_ran(page)
    page.context.close()


def test_upload_through_the_browser_shows_file_names_as_text(browser, app_url):
    page = open_chat(browser, app_url)
    page.set_input_files("[data-testid=stFileUploaderDropzoneInput]", [
        {"name": "<img src=x onerror=alert(5)>.md", "mimeType": "text/markdown", "buffer": b"The lighthouse keeper counted 41 gulls on Tuesday.\n"},
        {"name": "[click](javascript:alert(6)) **now** <img src=x onerror=alert(7)>.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"},
    ])
    page.locator("[data-testid=stFileChip]").nth(1).wait_for(timeout=10_000)
    page.get_by_role("button", name="Upload and index").click()
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text("Index: added 1").wait_for(timeout=ANSWER_MS)
    shown = sidebar.inner_text()
    assert "Saved seeds/uploads/img_src_x_onerror_alert_5.md" in shown
    assert "Refused [click](javascript:alert(6)) **now** <img src=x onerror=alert(7)>.exe: .exe files are not accepted" in shown
    assert_nothing_ran(page)
    page.context.close()


def test_four_sessions_chatting_at_once_all_get_their_answers(browser, app_url):
    cases = {case.id: case for case in load_cases([PROJECT / "evals" / "seed_article.yaml"])}
    asked = [cases[name] for name in LOAD_QUESTIONS]
    pages = [open_chat(browser, app_url) for _ in asked]
    started = time.perf_counter()
    sent = [send(page, case.question) for page, case in zip(pages, asked)]  # all four are in flight before any answer is awaited
    for page, case, before in zip(pages, asked, sent):
        shown = wait_for_answer(page, before).inner_text()
        assert not missing_facts(shown, case.expect), (case.question, shown)
        assert page.locator("[data-testid=stException]").count() == 0
    print(f"4 concurrent browser sessions answered in {time.perf_counter() - started:.1f} s")
    for page in pages:
        page.context.close()
