/*
 * Web chat for reporting an incident.
 *
 * Plain JavaScript with no build step and no external resources, so that it loads on a cheap
 * phone under a strict Content-Security-Policy. Everything the server or the resident writes is
 * inserted with textContent, never as HTML: resident text is echoed back in summaries and must
 * stay inert.
 *
 * The session token lives only in sessionStorage (one tab, gone when the tab closes), and the
 * quick exit wipes it together with the conversation on screen.
 */
(function () {
  "use strict";

  var STORE_KEY = "reportbot.chat";
  var RETRY_DELAYS_MS = [1000, 2500, 5000]; // three retries after the first attempt
  var REQUEST_TIMEOUT_MS = 20000;
  var ESCAPE_WINDOW_MS = 1000;

  var root, log, statusBox, form, input, sendButton, exitLink, apiBase, pageLang, str;
  var progressBox, progressText, progressBar, hintBox;
  var MAX_LOG = 300; // entries of the conversation kept for a reload in the chosen language
  var state = { token: null, done: false, last: [], log: [] };
  var busy = false;
  var leaving = false;
  var lastEscapeAt = 0;
  var idCounter = 0;
  // The resident's message that has not been confirmed by the server yet: it is retried with
  // the same client_id, so the server can recognise a repeat and answer it only once.
  var pending = null;

  /* ---------- small helpers ---------- */

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        node.setAttribute(name, value === true ? "" : String(value));
      });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function nextId(prefix) {
    idCounter += 1;
    return prefix + "-" + idCounter;
  }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues does not.
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function sleep(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  // A case reference (K7QMX-9RDT4) is shown in bold and never split across lines, nor is a
  // phone number: the resident has to read them out or copy them. Phone numbers open the
  // dialler and e-mail addresses the mail app. Built from text nodes only.
  var KEEP_TOGETHER = /([2-9A-Y]{5}-[2-9A-Y]{5})|(\+?\d[\d ]{6,14}\d)|([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
  var REFERENCE = /[2-9A-Y]{5}-[2-9A-Y]{5}/;
  var CODE = /(^|[^\d])(\d{6})(?!\d)/;

  function appendText(node, text) {
    var at = 0;
    var match;
    KEEP_TOGETHER.lastIndex = 0;
    while ((match = KEEP_TOGETHER.exec(text)) !== null) {
      if (match.index > at) node.appendChild(document.createTextNode(text.slice(at, match.index)));
      if (match[1]) {
        node.appendChild(el("strong", { "class": "keep ref" }, match[0]));
      } else if (match[2]) {
        node.appendChild(el("a", { "class": "keep", href: "tel:" + match[0].replace(/ /g, "") },
          match[0]));
      } else {
        node.appendChild(el("a", { href: "mailto:" + match[0] }, match[0]));
      }
      at = match.index + match[0].length;
    }
    if (at < text.length) node.appendChild(document.createTextNode(text.slice(at)));
    return node;
  }

  // The reference and follow-up code can be copied in one tap, to keep them somewhere safe:
  // leaving the site quickly clears this page.
  function copyButton(text) {
    var reference = text.match(REFERENCE);
    if (!reference || !navigator.clipboard) return null;
    var code = text.slice(reference.index).match(CODE);
    var copied = reference[0] + (code ? " " + code[2] : "");
    var button = el("button", { type: "button", "class": "btn btn-secondary btn-copy",
      "data-action": "copy" }, str.copy);
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(copied).then(function () { setStatus(str.copied); },
        function () { /* the text stays on the page to copy by hand */ });
    });
    return button;
  }

  function clearChildren(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /* ---------- storage (may be unavailable; the chat still works without it) ---------- */

  function loadState() {
    try {
      var raw = window.sessionStorage.getItem(STORE_KEY);
      if (!raw) return null;
      var saved = JSON.parse(raw);
      if (saved && typeof saved.token === "string" && saved.token) {
        return {
          token: saved.token,
          done: saved.done === true,
          switched: saved.switched === true,
          last: Array.isArray(saved.last) ? saved.last : [],
          log: Array.isArray(saved.log) ? saved.log : []
        };
      }
    } catch (err) { /* unreadable: start afresh */ }
    return null;
  }

  function saveState() {
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (err) { /* private mode or full: the chat goes on, only resuming is lost */ }
  }

  function forgetState() {
    state = { token: null, done: false, last: [], log: [] };
    try {
      window.sessionStorage.clear();
    } catch (err) { /* nothing stored */ }
  }

  /* ---------- quick exit ---------- */

  function quickExit(event) {
    if (event) event.preventDefault();
    leaving = true;
    var url = exitLink.getAttribute("data-exit-url") || exitLink.href || "about:blank";
    // Wipe what is on screen and in storage first, so nothing is left if the next page is slow.
    clearChildren(log);
    showProgress(null);
    setStatus("");
    input.value = "";
    forgetState();
    // replace(), not assign(): Back must not return to the conversation.
    window.location.replace(url);
  }

  function onKeyDown(event) {
    if (event.key !== "Escape" && event.key !== "Esc") return;
    var now = Date.now();
    if (now - lastEscapeAt <= ESCAPE_WINDOW_MS) {
      lastEscapeAt = 0;
      quickExit(event);
    } else {
      lastEscapeAt = now;
    }
  }

  /* ---------- status line ---------- */

  var sendingTimer = null;

  function setStatus(text, kind, action) {
    window.clearTimeout(sendingTimer);
    clearChildren(statusBox);
    if (!text) return;
    var note = el("p", { "class": "notice" + (kind ? " notice-" + kind : "") }, text);
    statusBox.appendChild(note);
    if (action) {
      var button = el("button", { type: "button", "class": "btn btn-secondary" }, action.label);
      button.addEventListener("click", action.run);
      statusBox.appendChild(button);
    }
  }

  // Say "Sending…" only when the answer is slow, so screen readers are not told it every time.
  function showSendingSoon() {
    setStatus("");
    sendingTimer = window.setTimeout(function () { setStatus(str.sending); }, 800);
  }

  /* ---------- network ---------- */

  function postOnce(url, body) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); },
      REQUEST_TIMEOUT_MS) : null;
    return window.fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data };
      });
    }).finally(function () {
      if (timer) window.clearTimeout(timer);
    });
  }

  // Send the same body until it arrives, waiting longer each time. Resolves with the server's
  // answer (any HTTP status), or rejects when the network failed on every attempt.
  async function postWithRetry(url, body) {
    for (var attempt = 0; ; attempt += 1) {
      var result = null;
      try {
        result = await postOnce(url, body);
      } catch (err) {
        result = null;
      }
      if (leaving) return new Promise(function () {}); // the page is going away
      var transient = result === null || result.status === 502 || result.status === 503 ||
        result.status === 504;
      if (!transient) return result;
      if (attempt >= RETRY_DELAYS_MS.length) throw new Error("network");
      setStatus(str.retrying, "warning");
      await sleep(RETRY_DELAYS_MS[attempt]);
    }
  }

  function messagesUrl() {
    return apiBase + "/" + encodeURIComponent(state.token) + "/messages";
  }

  /* ---------- rendering ---------- */

  function whoLabel(text) {
    // Screen readers hear who is speaking; the label is in the page's language.
    return el("span", { "class": "sr-only", lang: pageLang }, text + " ");
  }

  function renderBotMessage(message) {
    var wrap = el("div", {
      "class": "msg msg-bot",
      lang: message.lang || null,
      dir: message.dir || null,
      "data-question": message.question || null
    });
    var choices = Array.isArray(message.choices) ? message.choices : [];
    var text = typeof message.text === "string" ? message.text : "";
    wrap.appendChild(whoLabel(str.them));

    if (choices.length && message.multiple) {
      var multi = el("form", { "class": "multi", novalidate: true });
      var fieldset = el("fieldset");
      fieldset.appendChild(appendText(el("legend", { "class": "msg-text" }), text));
      var name = nextId("q");
      choices.forEach(function (choice) {
        var label = el("label", { "class": "check" });
        label.appendChild(el("input", { type: "checkbox", name: name, value: choice.id }));
        label.appendChild(el("span", null, choice.label));
        fieldset.appendChild(label);
      });
      multi.appendChild(fieldset);
      multi.appendChild(el("button", { type: "submit", "class": "btn btn-primary",
        "data-action": "done" }, str.done));
      multi.addEventListener("submit", function (event) {
        event.preventDefault();
        submitMulti(multi, choices);
      });
      wrap.appendChild(multi);
      wrap.classList.add("has-choices");
    } else {
      var textId = nextId("m");
      wrap.appendChild(appendText(el("p", { "class": "msg-text", id: textId }), text));
      var copy = copyButton(text);
      if (copy) wrap.appendChild(copy);
      if (choices.length) {
        var group = el("div", { "class": "choices", role: "group", "aria-labelledby": textId });
        choices.forEach(function (choice) {
          var button = el("button", { type: "button", "class": "btn btn-choice",
            "data-choice-id": choice.id }, choice.label);
          button.addEventListener("click", function () { chooseOne(button, choice); });
          group.appendChild(button);
        });
        wrap.appendChild(group);
        wrap.classList.add("has-choices");
      }
    }
    return wrap;
  }

  function renderMine(text) {
    var wrap = el("div", { "class": "msg msg-me" });
    wrap.appendChild(whoLabel(str.you));
    wrap.appendChild(el("p", { "class": "msg-text", dir: "auto" }, text));
    log.appendChild(wrap);
    return wrap;
  }

  function renderNote(text) {
    var note = el("p", { "class": "msg msg-note", lang: pageLang }, text);
    log.appendChild(note);
    return note;
  }

  function lock(message) {
    var controls = message.querySelectorAll("button, input");
    for (var i = 0; i < controls.length; i += 1) controls[i].disabled = true;
    message.classList.add("is-answered");
  }

  // Only the latest question can be answered by tapping; earlier buttons stay for reading.
  function lockAllChoices() {
    var asked = log.querySelectorAll(".msg-bot.has-choices:not(.is-answered)");
    for (var i = 0; i < asked.length; i += 1) lock(asked[i]);
  }

  function currentQuestion() {
    var asked = log.querySelectorAll(".msg-bot.has-choices:not(.is-answered)");
    return asked.length ? asked[asked.length - 1] : null;
  }

  /* ---------- progress: "Step 3 of about 8" and a bar, in the sticky header ---------- */

  // Show where the resident is, from the latest question in a reply; a question without
  // progress (the language menu, the offer to add details) or the end hides it. The text is
  // only rewritten when it changes, so screen readers announce a new step once.
  function showProgress(progress) {
    if (!progressBox) return;
    if (!progress || typeof progress.step !== "number" || typeof progress.total !== "number" ||
        progress.total < 1) {
      progressBox.hidden = true;
      progressText.textContent = "";
      return;
    }
    var text = String(progress.text || "");
    if (progress.section) text += " \u00b7 " + String(progress.section);
    if (progressText.textContent !== text) progressText.textContent = text;
    progressBar.max = progress.total;
    progressBar.value = Math.min(progress.step, progress.total);
    progressBar.setAttribute("aria-valuetext", text);
    progressBox.hidden = false;
  }

  function updateProgress(messages) {
    var asked = (messages || []).filter(function (message) {
      return message && typeof message === "object" && message.question;
    });
    if (asked.length) showProgress(asked[asked.length - 1].progress || null);
  }

  // The hint under the message box fits the question: "or choose an option above" only
  // where there are options to choose.
  function updateHint(messages) {
    if (!hintBox) return;
    var asked = (messages || []).filter(function (message) {
      return message && typeof message === "object" && message.question;
    });
    if (!asked.length) return;
    var last = asked[asked.length - 1];
    var choices = Array.isArray(last.choices) && last.choices.length;
    hintBox.textContent = choices ? str.hintChoice : str.hintText;
  }

  function remember(entry) {
    if (!Array.isArray(state.log)) state.log = [];
    state.log.push(entry);
    if (state.log.length > MAX_LOG) state.log = state.log.slice(-MAX_LOG);
  }

  function showMessages(messages, scroll) {
    var added = [];
    updateProgress(messages);
    updateHint(messages);
    lockAllChoices();
    (messages || []).forEach(function (message) {
      if (!message || typeof message !== "object") return;
      var node = renderBotMessage(message);
      log.appendChild(node);
      added.push(node);
    });
    // In one reply, only the last message with choices is the question being asked now.
    var withChoices = added.filter(function (node) {
      return node.classList.contains("has-choices");
    });
    withChoices.slice(0, -1).forEach(lock);
    if (state.done) lockAllChoices();
    if (scroll && added.length && typeof added[0].scrollIntoView === "function") {
      added[0].scrollIntoView({ block: "start", behavior: "auto" });
    }
  }

  // Keep keyboard users in place: if the control they used has just been disabled, move them to
  // the next thing they can answer with.
  function restoreFocus() {
    var active = document.activeElement;
    if (active && active !== document.body && !active.disabled) return;
    var question = currentQuestion();
    var target = question && question.querySelector("button:not([disabled]), input:not([disabled])");
    if (!target && !input.disabled) target = input;
    if (target) target.focus({ preventScroll: true });
  }

  function finish() {
    state.done = true;
    showProgress(null);
    lockAllChoices();
    input.disabled = true;
    sendButton.disabled = true;
    form.classList.add("is-finished");
    renderNote(str.finished);
    var again = el("button", { type: "button", "class": "btn btn-secondary",
      "data-action": "restart" }, str["new"]);
    again.addEventListener("click", restart);
    log.appendChild(again);
  }

  function restart() {
    forgetState();
    clearChildren(log);
    showProgress(null);
    setStatus("");
    input.disabled = false;
    sendButton.disabled = false;
    form.classList.remove("is-finished");
    startConversation();
    input.focus();
  }

  /* ---------- conversation ---------- */

  function accept(data, scroll) {
    var messages = data && Array.isArray(data.messages) ? data.messages : [];
    state.last = messages;
    state.done = !!(data && data.done);
    remember({ bot: messages });
    saveState();
    // Only the resident's own choice of language changes the page's: an offer of another
    // language, or a reply written in one, never does. Then the page reloads in it, so the
    // way out, the 999 line and every control read in that language too, and the
    // conversation so far is shown again from storage; replace() keeps the history to one
    // entry.
    var spoken = data && typeof data.language === "string" ? data.language : null;
    if (spoken && spoken !== pageLang && /^[a-z]{2,3}(-[A-Za-z]{2,4})?$/.test(spoken)) {
      state.switched = true;
      saveState();
      window.location.replace(window.location.pathname + "?lang=" + encodeURIComponent(spoken));
      return;
    }
    setStatus("");
    showMessages(messages, scroll);
    if (state.done) finish();
  }

  async function startConversation() {
    busy = true;
    showSendingSoon();
    var result;
    try {
      result = await postWithRetry(apiBase, { language: pageLang });
    } catch (err) {
      busy = false;
      setStatus(str.startFailed, "error", { label: str.retry, run: startConversation });
      return;
    }
    busy = false;
    if (result.ok && result.data && typeof result.data.session === "string") {
      state = { token: result.data.session, done: false, last: [], log: [] };
      // The greeting sits under the introduction; scrolling would hide that.
      accept(result.data, false);
      return;
    }
    var message = result.data && result.data.message;
    setStatus(message || str.startFailed, "error", { label: str.retry, run: startConversation });
  }

  // Send one message from the resident: echo it, then deliver it with retries.
  function send(body, echo) {
    if (busy || state.done || !state.token) return false;
    body.client_id = newClientId();
    pending = { body: body, echo: echo, node: renderMine(echo) };
    deliver();
    return true;
  }

  async function deliver() {
    if (!pending) return;
    var sending = pending;
    busy = true;
    sending.node.classList.remove("is-unsent");
    var flag = sending.node.querySelector(".unsent");
    if (flag) sending.node.removeChild(flag);
    showSendingSoon();
    var result;
    try {
      result = await postWithRetry(messagesUrl(), sending.body);
    } catch (err) {
      busy = false;
      sending.node.classList.add("is-unsent");
      sending.node.appendChild(el("span", { "class": "unsent", lang: pageLang }, str.notSent));
      setStatus(str.failed, "error", { label: str.retry, run: deliver });
      return;
    }
    busy = false;
    pending = null;
    if (result.ok) {
      remember({ me: sending.echo });
      accept(result.data, true);
      restoreFocus();
      return;
    }
    // The server refused this message: take the echo back, and give typed text back to edit.
    if (sending.node.parentNode) sending.node.parentNode.removeChild(sending.node);
    if (typeof sending.body.text === "string" && !input.value) input.value = sending.body.text;
    var message = result.data && result.data.message;
    if (result.status === 404 || result.status === 410) {
      // The session has ended or expired on the server; offer a clean start.
      forgetState();
      lockAllChoices();
      setStatus(message || str.expired, "error", { label: str["new"], run: restart });
      return;
    }
    setStatus(message || str.server, "error");
    restoreFocus();
  }

  function chooseOne(button, choice) {
    if (button.disabled) return;
    if (send({ choice: choice.id }, choice.label)) button.classList.add("is-chosen");
  }

  function submitMulti(multi, choices) {
    var ticked = [];
    var labels = [];
    var boxes = multi.querySelectorAll("input[type=checkbox]");
    for (var i = 0; i < boxes.length; i += 1) {
      if (!boxes[i].checked) continue;
      ticked.push(boxes[i].value);
      for (var j = 0; j < choices.length; j += 1) {
        if (choices[j].id === boxes[i].value) labels.push(choices[j].label);
      }
    }
    if (!ticked.length) {
      setStatus(str.tickOne, "error");
      if (boxes.length) boxes[0].focus();
      return;
    }
    send({ choices: ticked }, labels.join(", "));
  }

  function onSubmit(event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    if (busy) return;
    // Pressing Send again after a failure re-sends the very same message, with the same id.
    if (pending && pending.body.text === text) {
      input.value = "";
      deliver();
      return;
    }
    if (send({ text: text }, text)) input.value = "";
  }

  function onInputKey(event) {
    // Enter sends; Shift+Enter makes a new line. Never interrupt an input method composing text.
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.altKey &&
        !event.metaKey && !event.isComposing) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else onSubmit(event);
    }
  }

  function resume(saved) {
    state = saved;
    // The conversation so far, as the resident saw it; an older saved state has only the
    // last replies.
    var log = state.log.length ? state.log : [{ bot: state.last }];
    log.forEach(function (entry) {
      if (typeof entry.me === "string") renderMine(entry.me);
      else if (Array.isArray(entry.bot)) showMessages(entry.bot, false);
    });
    // After a change of language the conversation simply goes on; after a reload, say so.
    if (state.switched) state.switched = false;
    else renderNote(str.welcomeBack);
    saveState();
    if (state.done) finish();
  }

  function readStrings(node) {
    var names = ["you", "them", "retrying", "notSent", "failed", "retry", "startFailed",
      "server", "welcomeBack", "expired", "tickOne", "done", "finished", "new", "sending",
      "hintText", "hintChoice", "copy", "copied", "uploading", "uploadFailed"];
    var out = {};
    names.forEach(function (name) {
      var attr = "data-str-" + name.replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); });
      out[name] = node.getAttribute(attr) || "";
    });
    return out;
  }

  function init() {
    root = document.getElementById("chat");
    log = document.getElementById("log");
    statusBox = document.getElementById("status");
    form = document.getElementById("composer");
    input = document.getElementById("message-input");
    sendButton = document.getElementById("send");
    exitLink = document.getElementById("quick-exit");
    progressBox = document.getElementById("progress");
    progressText = document.getElementById("progress-text");
    progressBar = document.getElementById("progress-bar");
    hintBox = document.getElementById("message-hint");
    if (!progressText || !progressBar) progressBox = null;
    if (!root || !log || !form || !input || !exitLink) return;
    apiBase = root.getAttribute("data-api");
    pageLang = root.getAttribute("data-lang") || document.documentElement.lang || "en";
    str = readStrings(root);
    window.reportbotChat = {
      token: function () { return state.token; },
      canSend: function () { return !busy && !state.done && !!state.token; },
      echo: renderMine,
      accept: function (data) { accept(data, true); },
      status: setStatus,
      strings: str
    };

    exitLink.addEventListener("click", quickExit);
    document.addEventListener("keydown", onKeyDown, true);
    form.addEventListener("submit", onSubmit);
    input.addEventListener("keydown", onInputKey);

    // A page restored from the back-forward cache after the storage was wiped must not show
    // the old conversation.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && !loadState()) {
        clearChildren(log);
        showProgress(null);
        clearChildren(statusBox);
        input.value = "";
        leaving = false;
        startConversation();
      }
    });

    var saved = loadState();
    if (saved) resume(saved);
    else startConversation();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
}());
