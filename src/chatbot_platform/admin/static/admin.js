// Admin UI behaviour: auto-submitting selects, confirmations, live status (documents, scraper
// runs) and the widget's live colour preview.
// No build step, no third-party code; every page works without it.
"use strict";

(function () {
  var POLL_MS = 1000;

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form && select.value) select.form.submit();
      });
    });
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  function setField(row, name, value) {
    var el = row.querySelector('[data-field="' + name + '"]');
    if (!el) return;
    if (name === "progress") {
      el.value = value;
      el.textContent = value + "%";
    } else if (name !== "status") {
      el.textContent = value == null ? "" : String(value);
    }
  }

  function apply(row, item) {
    var status = row.querySelector('[data-field="status"]');
    if (status) {
      status.textContent = item.label;
      status.setAttribute("data-status", item.status);
      status.className = "status status-" + item.status;
    }
    Object.keys(item.fields || {}).forEach(function (name) {
      if (item.fields[name] !== null) setField(row, name, item.fields[name]);
    });
    if (item.final) {
      row.removeAttribute("data-live");
      row.querySelectorAll("[data-while-live]").forEach(function (el) { el.remove(); });
    }
  }

  function poll(container) {
    var url = container.getAttribute("data-poll");
    function tick() {
      var rows = [];
      if (container.hasAttribute("data-live")) rows.push(container);
      container.querySelectorAll("[data-live]").forEach(function (r) { rows.push(r); });
      if (!rows.length) return;
      var ids = rows.map(function (r) { return r.getAttribute("data-live-id"); }).join(",");
      fetch(url + "?ids=" + encodeURIComponent(ids), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : { items: [] }; })
        .then(function (body) {
          body.items.forEach(function (item) {
            rows.forEach(function (row) {
              if (row.getAttribute("data-live-id") === item.id) apply(row, item);
            });
          });
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { window.setTimeout(tick, POLL_MS); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  // The widget page: colours and title change the preview as they are edited, before saving.
  function widgetPreview() {
    var mock = document.querySelector("[data-widget-mock]");
    if (!mock) return;
    document.querySelectorAll("input[data-preview-var]").forEach(function (input) {
      var apply = function () { mock.style.setProperty(input.getAttribute("data-preview-var"), input.value); };
      input.addEventListener("input", apply);
      input.addEventListener("change", apply);
      apply();
    });
    var title = document.querySelector("input[data-preview-text='title']");
    var shown = mock.querySelector("[data-preview-title]");
    if (title && shown) {
      var fallback = shown.textContent;
      title.addEventListener("input", function () { shown.textContent = title.value || fallback; });
    }
  }

  onReady(function () {
    autosubmit();
    widgetPreview();
    confirmations();
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
