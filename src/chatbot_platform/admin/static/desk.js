// The operator console: the queue and the open conversation stay live (polling live.json every
// second), presence is kept with a heartbeat while the page is open, and a canned reply is
// inserted into the reply box. Text is only ever set with textContent. The page works without it.
"use strict";

(function () {
  var POLL_MS = 1000;
  var HEARTBEAT_MS = 30000;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }

  function renderQueue(root, queue, currentId) {
    var list = root.querySelector("[data-queue]");
    var empty = root.querySelector("[data-queue-empty]");
    if (!list) return;
    var signature = JSON.stringify(queue.map(function (q) { return [q.id, q.status, q.operator, q.priority]; }));
    if (list.getAttribute("data-signature") === signature) return;
    list.setAttribute("data-signature", signature);
    list.textContent = "";
    queue.forEach(function (item) {
      var li = el("li");
      li.setAttribute("data-queue-item", item.id);
      var link = el("a", null, item.conversation_id);
      link.href = item.url;
      if (item.id === currentId) link.setAttribute("aria-current", "true");
      li.appendChild(link);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "status status-" + item.status, item.status_label));
      if (item.operator) li.appendChild(document.createTextNode(" · " + item.operator));
      list.appendChild(li);
    });
    if (empty) empty.hidden = queue.length > 0;
  }

  function renderMessages(root, messages) {
    var list = root.querySelector("[data-messages]");
    if (!list) return;
    var signature = messages.map(function (m) { return m.id; }).join(",");
    if (list.getAttribute("data-signature") === signature) return;
    list.setAttribute("data-signature", signature);
    list.textContent = "";
    messages.forEach(function (m) {
      var li = el("li", "msg msg-" + m.role);
      li.setAttribute("data-message", m.id);
      li.appendChild(el("span", "who", m.who));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "at", m.at));
      li.appendChild(el("p", "content", m.content));
      if (m.citations.length) {
        var cites = el("ul", "citations");
        m.citations.forEach(function (c) {
          var item = el("li");
          if (c.url) {
            var a = el("a", null, c.title);
            a.href = c.url;
            a.rel = "noopener noreferrer";
            a.target = "_blank";
            item.appendChild(a);
          } else {
            item.textContent = c.title;
          }
          cites.appendChild(item);
        });
        li.appendChild(cites);
      }
      list.appendChild(li);
    });
  }

  function poll(root) {
    var url = root.getAttribute("data-live-url");
    var handoff = root.getAttribute("data-handoff");
    var status = root.querySelector("[data-current-status]");
    var shownStatus = status ? status.className : null;
    if (handoff) url += "?handoff_id=" + encodeURIComponent(handoff);
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) return;
          renderQueue(root, body.queue, handoff);
          if (body.current) {
            renderMessages(root, body.messages);
            // The handoff changed elsewhere (taken, released, closed): show the right actions.
            var textarea = root.querySelector("textarea[name=text]");
            if (shownStatus !== "status status-" + body.current.status && !(textarea && textarea.value)) {
              window.location.reload();
            }
          }
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { window.setTimeout(tick, POLL_MS); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  function heartbeat(root) {
    var url = root.getAttribute("data-heartbeat");
    if (!url) return;
    function beat() {
      var body = new URLSearchParams();
      body.set("state", "available");
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf() },
        body: body
      }).catch(function () { /* the next beat tries again */ });
    }
    beat();
    window.setInterval(beat, HEARTBEAT_MS);
  }

  // A canned reply goes into the reply box at the caret with the "Insert" button (not on change:
  // arrow keys on a closed select fire change events).
  function canned(root) {
    root.querySelectorAll("button[data-canned-insert]").forEach(function (button) {
      var select = document.getElementById(button.getAttribute("data-canned-insert"));
      var target = document.getElementById(button.getAttribute("data-canned-target"));
      if (!select || !target) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var inserted = select.value;
        if (!inserted) return;
        var start = target.selectionStart != null ? target.selectionStart : target.value.length;
        var end = target.selectionEnd != null ? target.selectionEnd : target.value.length;
        target.value = target.value.slice(0, start) + inserted + target.value.slice(end);
        select.value = "";
        target.focus();
        target.selectionStart = target.selectionEnd = start + inserted.length;
      });
    });
  }

  function start() {
    var root = document.querySelector("[data-desk]");
    if (!root) return;
    poll(root);
    heartbeat(root);
    canned(root);
  }

  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
