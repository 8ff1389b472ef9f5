// The UI's live updates and actions. No build step, no dependencies beyond htmx.
// Live: an EventSource on /_sandbox/changes/stream; each batch of changes fires a
// "sandbox-change" event on <body>, which the pages' htmx regions refresh on. If the stream
// cannot be opened, the page polls /_sandbox/changes?since=<cursor> until it can.
(function () {
  "use strict";
  const POLL_MS = 1000;
  const RECONNECT_MS = 10000;
  let cursor = null;
  let source = null;
  let pollTimer = null;

  function setState(state, text) {
    const el = document.getElementById("live-state");
    if (el && el.dataset.state !== state) {
      el.dataset.state = state;
      el.textContent = text;
    }
  }

  function changed() {
    document.body.dispatchEvent(new CustomEvent("sandbox-change"));
  }

  function connect(feed) {
    const url = feed + "/stream" + (cursor ? "?since=" + encodeURIComponent(cursor) : "");
    source = new EventSource(url);
    source.addEventListener("ready", function (e) {
      cursor = e.lastEventId || cursor;
      stopPolling();
      setState("live", "live");
    });
    source.addEventListener("change", function (e) {
      cursor = e.lastEventId || cursor;
      changed();
    });
    source.onerror = function () {
      // CONNECTING: the server ended the stream and the browser reconnects by itself.
      if (source.readyState === EventSource.CLOSED) {
        startPolling(feed);
        setTimeout(function () { connect(feed); }, RECONNECT_MS);
      }
    };
  }

  function startPolling(feed) {
    setState("polling", "polling");
    if (pollTimer) return;
    pollTimer = setInterval(function () { poll(feed); }, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function poll(feed) {
    const url = feed + (cursor ? "?since=" + encodeURIComponent(cursor) : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        const news = cursor !== null && body.changes.length > 0;
        cursor = body.cursor;
        if (news) changed();
      })
      .catch(function () { setState("offline", "offline"); });
  }

  // Forms with class json-action post their fields as JSON ("a.b" names nest) to the admin API.
  function formJson(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.value === "") continue;
      const value = el.type === "number" ? Number(el.value) : el.value;
      const path = el.name.split(".");
      let node = body;
      path.slice(0, -1).forEach(function (key) { node = node[key] = node[key] || {}; });
      node[path[path.length - 1]] = value;
    }
    return body;
  }

  function submitJson(event) {
    const form = event.target.closest("form.json-action");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const output = form.querySelector("output");
    fetch(form.dataset.action, {
      method: form.dataset.method || "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(formJson(form)),
    })
      .then(function (r) { return r.json().then(function (b) { return [r, b]; }); })
      .then(function ([r, body]) {
        if (!r.ok) throw new Error(body.detail || body.title || "HTTP " + r.status);
        if (output) { output.className = "ok"; output.textContent = "Done."; }
        const text = form.querySelector("input[name='content.text']");
        if (text) { text.value = ""; text.focus(); }
        changed();
      })
      .catch(function (err) {
        if (output) { output.className = "bad"; output.textContent = String(err.message || err); }
      });
  }

  function copy(event) {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const text = document.querySelector(button.dataset.copy).textContent;
    const done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(done, done);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("submit", submitJson);
    document.addEventListener("click", copy);
    const feed = document.body.dataset.feed;
    if (!feed) return;
    cursor = document.body.dataset.cursor || null; // where this page's data was read
    if (window.EventSource) connect(feed); else startPolling(feed);
  });
})();
