// The duty queue without reloads: every few seconds ask the server for the queue's rows
// and how many cases arrived since the page was drawn, and show them in place. The count
// of new cases goes in the window title, so an officer working in another tab sees it.
// Without JavaScript the page still works: reload it.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table || !window.fetch) { return; }
  var rows = document.getElementById("queue-rows");
  var total = document.getElementById("total");
  var status = document.getElementById("live-status");
  var url = table.getAttribute("data-live-url");
  var since = table.getAttribute("data-since");
  var seconds = Math.max(5, parseInt(table.getAttribute("data-poll-seconds"), 10) || 20);
  var baseTitle = document.title;
  var lastNew = 0;

  function liveUrl() {
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "since=" + encodeURIComponent(since);
  }

  function show(data) {
    // Leave the rows alone while the officer is pressing a Claim button in them.
    if (!rows.contains(document.activeElement)) {
      rows.innerHTML = data.rows;
    }
    total.textContent = String(data.total);
    document.title = data["new"] > 0 ? "(" + data["new"] + " new) " + baseTitle : baseTitle;
    if (data["new"] !== lastNew) {
      status.textContent = data["new"] > 0
        ? data["new"] + (data["new"] === 1 ? " new case" : " new cases") +
          " since you opened this page, marked new in the list."
        : "";
      lastNew = data["new"];
    }
  }

  function poll() {
    fetch(liveUrl(), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(show)
      .catch(function () { /* signed out or offline: the next poll tries again */ })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }

  window.setTimeout(poll, seconds * 1000);
}());

// The staff report form: ask the server which of the flow's questions apply to the
// answers so far (the flow's own rules), and hide the others. Without JavaScript every
// question shows, and answers to questions that do not apply are dropped on saving.
(function () {
  "use strict";
  var form = document.getElementById("staff-report");
  if (!form || !window.fetch || !window.URLSearchParams) { return; }
  var url = form.getAttribute("data-applies-url");
  var timer = null;

  function answers() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.disabled) { return; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      params.append(el.name, el.value);
    });
    return params;
  }

  function apply(data) {
    var applies = {};
    data.applies.forEach(function (id) { applies[id] = true; });
    Array.prototype.forEach.call(form.querySelectorAll("[data-step]"), function (el) {
      el.hidden = !applies[el.getAttribute("data-step")];
    });
    Array.prototype.forEach.call(form.querySelectorAll("section[data-section]"), function (s) {
      s.hidden = s.querySelectorAll("[data-step]:not([hidden])").length === 0;
    });
  }

  function refresh() {
    fetch(url, {method: "POST", body: answers(), credentials: "same-origin",
                headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(apply)
      .catch(function () { /* leave every question showing */ });
  }

  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 120);
  });
  refresh();
}());
