"""A resident reports through /chat in a real headless Chromium, on a phone-sized screen."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"[2-9A-Y]{5}-[2-9A-Y]{5}")
XSS = "<img src=x onerror=alert(1)>"

# The answers of a named victim reporting for themselves, by step id (flows/report.py). A step
# not listed here takes its first choice, so the test keeps working when the flow gains a
# question.
PREFERRED_CHOICES = {
    "immediate_danger": "no",
    "reporter_role": "victim",
    "anonymous": "named",
    "contact_method": "phone",
    "language_needs": "none",
    "review": "submit",
    "details_offer": "add",
}
# Fictional answers to the questions asked in the resident's own words. An optional question
# not listed here is skipped with its button.
TYPED_ANSWERS = {
    "reporter_name": "Alex Example",
    "narrative": (
        "Someone wrote abusive words about my religion on my front door last night.\n"
        "It is the second time this month."
    ),
    "incident_date": "Last month",
    "location": "Flat 12, Example House, Sample Estate",
    "perpetrator_description": "A man in his twenties from the next block",
    "contact_details": "07700 900123",
    "safe_times": "Weekday mornings",
}
FALLBACK_TEXT = "I would rather not say more here."
MAX_STEPS = 80


@dataclass
class Chat:
    """Drive /chat the way a resident would, one question at a time."""

    page: Page
    transcript: list[tuple[str, str]] = field(default_factory=list)

    def open(self) -> None:
        """Open the chat and wait for the greeting."""
        self.page.goto("/chat")
        expect(self.page.locator("#log .msg-bot").first).to_be_visible()

    def step(self) -> str | None:
        """Return the step id of the question being asked now."""
        asked = self.page.locator("#log .msg-bot[data-question]")
        if not asked.count():
            return None
        return asked.last.get_attribute("data-question")

    def finished(self) -> bool:
        """Tell whether the server has said the conversation is done."""
        return self.page.locator('#log [data-action="restart"]').count() > 0

    def last_text(self) -> str:
        """Return everything the bot said since the resident's last message, as one string."""
        return self.page.evaluate(
            """() => {
                const all = [...document.querySelectorAll('#log .msg')];
                const mine = all.map((m) => m.classList.contains('msg-me')).lastIndexOf(true);
                return all.slice(mine + 1).filter((m) => m.classList.contains('msg-bot'))
                    .map((m) => m.innerText).join('\\n');
            }"""
        )

    def log_text(self) -> str:
        """Return the whole conversation as shown."""
        return self.page.locator("#log").inner_text()

    def _reply_after(self, act) -> None:
        before = self.page.locator("#log .msg-bot").count()
        act()
        self.page.wait_for_function(
            """(n) => document.querySelectorAll('#log .msg-bot').length > n
                   || document.querySelector('#status .notice-error')""",
            arg=before,
        )
        error = self.page.locator("#status .notice-error")
        if error.count():
            pytest.fail(f"the chat showed an error: {error.inner_text()!r}\n{self.dump()}")

    def choose(self, choice_id: str) -> None:
        """Tap the button of one choice in the current question."""
        button = self.page.locator(
            f'#log .msg-bot:not(.is-answered) button[data-choice-id="{choice_id}"]'
        )
        self._reply_after(button.click)

    def tick(self, choice_ids: list[str]) -> None:
        """Tick some boxes of the current multi-select question and press Done."""
        question = self.page.locator("#log .msg-bot.has-choices:not(.is-answered)")
        for choice_id in choice_ids:
            question.locator(f'input[type=checkbox][value="{choice_id}"]').check()
        self._reply_after(question.locator('button[data-action="done"]').click)

    def type(self, text: str) -> None:
        """Type a message in the message box and send it."""
        self.page.locator("#message-input").fill(text)
        self._reply_after(self.page.locator("#send").click)

    def answer(self, typed: dict[str, str] | None = None) -> str:
        """Answer the current question like a named victim would; return its step id."""
        step = self.step() or ""
        self.transcript.append((step, self.last_text()))
        current = self.page.locator("#log .msg-bot.has-choices:not(.is-answered)")
        boxes = current.locator("input[type=checkbox]")
        buttons = current.locator("button[data-choice-id]")
        answers = {**TYPED_ANSWERS, **(typed or {})}
        if step in answers:
            self.type(answers[step])
        elif boxes.count():
            ids = [boxes.nth(i).get_attribute("value") for i in range(min(2, boxes.count()))]
            self.tick(ids)
        elif buttons.count():
            ids = [buttons.nth(i).get_attribute("data-choice-id") for i in range(buttons.count())]
            preferred = PREFERRED_CHOICES.get(step)
            self.choose(preferred if preferred in ids else ids[0])
        else:
            self.type(FALLBACK_TEXT)
        return step

    def run(self, typed: dict[str, str] | None = None, until: str | None = None) -> None:
        """Answer question after question until the chat is done or asks step `until`."""
        repeats = 0
        previous = None
        for _ in range(MAX_STEPS):
            if self.finished() or (until is not None and self.step() == until):
                return
            step = self.answer(typed)
            repeats = repeats + 1 if step == previous else 0
            previous = step
            if repeats >= 3:
                pytest.fail(f"the chat keeps asking {step!r}\n{self.dump()}")
        pytest.fail(f"the report was not finished after {MAX_STEPS} answers\n{self.dump()}")

    def dump(self) -> str:
        """Describe the conversation so far, for a failure message."""
        return "transcript:\n" + "\n".join(f"[{s}] {t}" for s, t in self.transcript)


def test_a_victim_completes_a_report_and_gets_a_reference(page, watch, services):
    chat = Chat(page)
    chat.open()
    # Where the resident is, announced politely and shown as a native progress bar.
    progress = page.locator("#progress-text")
    expect(progress).to_have_text("Step 1 of about 8 · Your safety")
    assert progress.get_attribute("aria-live") == "polite"
    bar = page.get_by_role("progressbar")
    expect(bar).to_be_visible()
    assert bar.get_attribute("aria-valuetext") == "Step 1 of about 8 · Your safety"
    assert (bar.evaluate("b => [b.value, b.max]")) == [1, 8]

    chat.run(until="review")
    expect(progress).to_have_text("Step 8 of about 8 · Check and send")
    chat.run(until="details_offer")

    acknowledgement = chat.last_text()
    match = REFERENCE.search(acknowledgement)
    assert match, f"no reference in the acknowledgement {acknowledgement!r}\n{chat.dump()}"
    case, details = stored_case(services, match.group(0))
    assert case.channel == "webchat"
    assert case.reporter_role == "victim"
    assert not case.anonymous
    assert case.hate_related, "religion was given as the reason"
    assert TYPED_ANSWERS["reporter_name"] in details.values()
    assert "about 11 questions" in acknowledgement
    expect(page.locator("#progress")).to_be_hidden()  # the offer is not a step

    chat.answer()  # yes, add details
    expect(progress).to_have_text("Extra details: step 1 of about 7 · What happened")
    chat.run()

    case, _details = stored_case(services, match.group(0))
    assert case.incident_types, "the details were added to the same case"
    assert "added these details" in chat.last_text()
    expect(page.locator("#progress")).to_be_hidden()
    # Finished: nothing left to answer, and the message box is gone.
    assert page.locator("#log button:enabled[data-choice-id]").count() == 0
    expect(page.locator("#message-input")).to_be_hidden()
    # At the bottom of a long conversation on the narrowest phone, the way out and 999 are
    # still on screen, and nothing is wider than the screen.
    page.set_viewport_size({"width": 320, "height": 568})
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    expect(page.locator("#quick-exit")).to_be_in_viewport()
    expect(page.get_by_role("link", name="call 999")).to_be_in_viewport()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
    assert watch.errors == []


def test_the_quick_exit_button_leaves_no_trace(page, watch, live_server):
    exit_url = page_exit_url(page, live_server)
    page.goto("/static/chat.css")  # somewhere on the site before the chat, to go back to
    chat = Chat(page)
    chat.open()
    chat.answer()
    greeting = page.locator("#log .msg-bot .msg-text").first.inner_text()

    page.locator("#quick-exit").click()

    page.wait_for_url(exit_url)
    assert same_url(page.url, exit_url)
    page.go_back()
    assert page.url == f"{live_server}/static/chat.css", "Back must not return to the chat"
    assert greeting not in page.content()
    assert page.evaluate("sessionStorage.length") == 0
    page.goto("/chat")
    expect(page.locator("#log .msg-bot").first).to_be_visible()
    expect(page.get_by_text("Welcome back")).to_have_count(0)
    assert watch.errors == []


def test_pressing_escape_twice_leaves(page, watch, live_server):
    exit_url = page_exit_url(page, live_server)
    chat = Chat(page)
    chat.open()
    chat.answer()

    page.keyboard.press("Escape")
    page.keyboard.press("Escape")

    page.wait_for_url(exit_url)
    assert storage_left_behind(page, live_server) == 0
    assert watch.errors == []


def test_a_reload_resumes_the_conversation(page, watch):
    chat = Chat(page)
    chat.open()
    step = chat.answer()

    page.reload()

    expect(page.get_by_text("Welcome back")).to_be_visible()
    assert chat.step() not in (None, step), "the current question is shown again after a reload"
    chat.answer()
    assert watch.errors == []


def test_markup_typed_by_a_resident_stays_inert(page, watch):
    chat = Chat(page)
    chat.open()

    chat.run(typed={"narrative": XSS}, until="review")

    assert chat.step() == "review", chat.dump()
    assert XSS in chat.log_text()
    assert XSS in chat.last_text(), "the review summary echoes the resident's own words"
    assert page.locator("#log img").count() == 0
    assert watch.dialogs == []
    assert watch.errors == []


def test_a_keyboard_user_can_tab_to_a_choice_and_press_enter(page, watch):
    chat = Chat(page)
    chat.open()
    first = page.locator("#log button[data-choice-id]").first
    wanted = PREFERRED_CHOICES.get(chat.step() or "") or first.get_attribute("data-choice-id")

    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "quick-exit", (
        "the way out is the first thing the Tab key reaches"
    )
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.choiceId") == wanted:
            break
    else:
        pytest.fail(f"Tab never reached the choice {wanted!r}")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused choice has a visible focus ring"
    label = page.locator(f'button[data-choice-id="{wanted}"]').inner_text()
    before = page.locator("#log .msg-bot").count()

    page.keyboard.press("Enter")

    expect(page.locator("#log .msg-bot")).not_to_have_count(before)
    expect(page.locator("#log .msg-me").last).to_have_text(re.compile(re.escape(label)))
    expect(page.locator(f'button[data-choice-id="{wanted}"]').first).to_be_disabled()
    assert page.evaluate("document.activeElement !== document.body"), "focus is not lost"
    assert watch.errors == []


def test_a_dropped_connection_is_retried_with_the_same_client_id(page, watch):
    sent: list[dict] = []

    def flaky(route):
        sent.append(json.loads(route.request.post_data or "{}"))
        if len(sent) == 1:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    chat = Chat(page)
    chat.open()
    page.route("**/api/chat/sessions/*/messages", flaky)

    chat.answer()

    assert len(sent) == 2
    assert sent[0] == sent[1], "the retry repeats the same body and client_id"
    assert sent[0]["client_id"]
    assert watch.errors == []


def test_a_message_that_cannot_be_sent_is_kept_and_can_be_tried_again(page, watch):
    sent: list[dict] = []
    network = {"up": False}

    def through(route):
        sent.append(json.loads(route.request.post_data or "{}"))
        if network["up"]:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    chat = Chat(page)
    chat.open()
    page.route("**/api/chat/sessions/*/messages", through)
    before = page.locator("#log .msg-bot").count()

    page.locator('button[data-choice-id="no"]').click()

    status = page.locator("#status")
    expect(status.locator(".notice-error")).to_contain_text("not sent", timeout=15_000)
    expect(page.locator("#log .msg-me.is-unsent")).to_have_count(1)
    assert len(sent) == 4, "the first attempt and three retries"
    network["up"] = True
    status.get_by_role("button").click()
    expect(page.locator("#log .msg-bot")).not_to_have_count(before)
    expect(page.locator("#log .msg-me.is-unsent")).to_have_count(0)
    assert all(body == sent[0] for body in sent), "every attempt carries the same client_id"
    assert watch.errors == []


def page_exit_url(page: Page, live_server: str) -> str:
    """Return the quick-exit address the chat page is configured with, without running it."""
    html = page.request.get("/chat").text()
    found = re.search(r'id="quick-exit"[^>]*?data-exit-url="([^"]+)"', html)
    assert found, "the chat page has a quick-exit link"
    return urljoin(f"{live_server}/chat", unescape(found[1]))


def storage_left_behind(page: Page, live_server: str) -> int:
    """Count what the site left in this tab's sessionStorage, seen from a page without script."""
    page.goto(f"{live_server}/static/chat.css")
    return page.evaluate("sessionStorage.length")


def same_url(a: str, b: str) -> bool:
    """Compare two URLs, ignoring a trailing slash."""
    return a.rstrip("/") == b.rstrip("/")


def same_origin(a: str, b: str) -> bool:
    """Tell whether two absolute URLs share scheme, host and port."""
    return a.split("/")[:3] == b.split("/")[:3]


def stored_case(services, reference: str):
    """Look the case up in the app's own database, as the duty officer's queue would."""
    with services.db.read() as session:
        case = services.store.get(session, reference)
        return case, services.store.details(case)
