/*! ChatbotPlatform website widget v1 — dependency-free; mounts in a shadow root; no eval, no inline
 * styles or scripts on the host page (styles are constructed stylesheets), so it works under a strict CSP.
 * Answers are rendered as safe Markdown: DOM nodes built from text, never HTML; only http(s) links. */
(function () {
  "use strict";
  if (window.performance && performance.mark) performance.mark("cbp:start");
  var SCRIPT_PATH = "/widget/v1/widget.js";
  var script = document.currentScript;
  if (!script || !script.src || script.src.indexOf(SCRIPT_PATH) < 0) {
    var found = document.querySelectorAll("script[src*='" + SCRIPT_PATH + "']");
    script = found[found.length - 1];
  }
  if (!script || window.ChatbotPlatform && window.ChatbotPlatform.mounted) return;
  var opts = script.dataset;
  var tenant = opts.tenant, pkey = opts.key;
  if (!tenant || !pkey) { console.warn("[chatbot] data-tenant and data-key are required"); return; }
  var api = new URL(script.src).origin + "/api/v1/widget/" + encodeURIComponent(tenant);
  var STORE = "cbp:" + tenant;
  // Asked first, so that the configuration travels while the rest of the script runs.
  var configured = call("/config?key=" + encodeURIComponent(pkey)).then(function (r) { return r.json(); });

  var TEXT = {
    it: {
      open: "Apri la chat", close: "Chiudi la chat", placeholder: "Scrivi una domanda…", send: "Invia",
      input: "La tua domanda", restart: "Nuova conversazione", sources: "Fonti", you: "Tu",
      bot: "Assistente", up: "Risposta utile", down: "Risposta non utile", thanks: "Grazie per il riscontro.",
      welcome: "Ciao! Come posso aiutarti?", typing: "Sto scrivendo la risposta…", log: "Conversazione",
      offline: "Sei offline: la chat riprenderà quando torna la connessione.",
      limited: "Troppe richieste: riprova tra {s} secondi.", error: "Qualcosa è andato storto. Riprova.",
      maintenance: "Il servizio è in manutenzione. Riprova più tardi.", quick: "Domande suggerite",
      human: "Parla con una persona", operator: "Operatore", thanksForm: "Grazie, abbiamo ricevuto i tuoi dati.",
      formErrors: "Controlla i campi indicati.", tooFast: "Un attimo: invia di nuovo tra qualche secondo.",
      newtab: "(si apre in una nuova scheda)"
    },
    en: {
      open: "Open chat", close: "Close chat", placeholder: "Type a question…", send: "Send",
      input: "Your question", restart: "New conversation", sources: "Sources", you: "You",
      bot: "Assistant", up: "Helpful answer", down: "Not helpful", thanks: "Thanks for your feedback.",
      welcome: "Hi! How can I help?", typing: "Writing the answer…", log: "Conversation",
      offline: "You are offline: the chat will resume when the connection is back.",
      limited: "Too many requests: try again in {s} seconds.", error: "Something went wrong. Please try again.",
      maintenance: "The service is under maintenance. Please try again later.", quick: "Suggested questions",
      human: "Talk to a person", operator: "Operator", thanksForm: "Thank you, we received your details.",
      formErrors: "Please check the fields marked.", tooFast: "One moment: send it again in a few seconds.",
      newtab: "(opens in a new tab)"
    }
  };

  var CSS = ":host{all:initial}" +
    ".w{--p:#0b5cad;--op:#fff;--bg:#fff;--fg:#1b1b1b;--mu:#4a4a4a;--bb:#eef1f4;--bd:#c4c9cf;--fc:#0b5cad;" +
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg)}" +
    ".w.dark{--bg:#1c1f23;--fg:#f1f3f5;--mu:#c9ced4;--bb:#2c3137;--bd:#59616b;--fc:#8ab4f8}" +
    "@media (prefers-color-scheme:dark){.w.auto{--bg:#1c1f23;--fg:#f1f3f5;--mu:#c9ced4;--bb:#2c3137;--bd:#59616b;--fc:#8ab4f8}}" +
    ".w.hc{--p:#000;--op:#fff;--bg:#fff;--fg:#000;--mu:#000;--bb:#fff;--bd:#000;--fc:#000}" +
    ".w.hc.dark{--p:#ff0;--op:#000;--bg:#000;--fg:#fff;--mu:#fff;--bb:#000;--bd:#fff;--fc:#ff0}" +
    ".w.hc .b,.w.hc .pn,.w.hc textarea{border:2px solid var(--bd)}" +
    "*{box-sizing:border-box}[hidden]{display:none!important}" +
    ".sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}" +
    "button,textarea{font:inherit;color:inherit}button{cursor:pointer}" +
    ":focus-visible{outline:3px solid var(--fc);outline-offset:2px}" +
    ".l{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;border:2px solid var(--op);" +
    "background:var(--p);color:var(--op);display:flex;align-items:center;justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.3);" +
    "transition:transform .15s}.l:hover{transform:scale(1.06)}.l svg{width:28px;height:28px;fill:currentColor}" +
    ".left .l{right:auto;left:20px}" +
    ".pn{position:fixed;bottom:92px;right:20px;z-index:2147483001;width:380px;height:560px;max-height:calc(100vh - 112px);" +
    "max-width:calc(100vw - 40px);display:flex;flex-direction:column;background:var(--bg);color:var(--fg);border-radius:14px;" +
    "box-shadow:0 10px 40px rgba(0,0,0,.3);overflow:hidden;border:1px solid var(--bd);animation:in .18s ease-out}" +
    ".left .pn{right:auto;left:20px}.small .pn{width:320px;height:460px}.large .pn{width:440px;height:680px}" +
    "@keyframes in{from{opacity:0;transform:translateY(12px)}to{opacity:1;transform:none}}" +
    ".hd{display:flex;align-items:center;gap:8px;padding:10px 10px 10px 14px;background:var(--p);color:var(--op)}" +
    ".hd img{width:28px;height:28px;border-radius:6px;object-fit:contain;background:#fff}" +
    ".hd h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".ib{background:transparent;border:0;color:inherit;width:36px;height:36px;border-radius:8px;display:flex;align-items:center;justify-content:center}" +
    ".ib:hover{background:rgba(255,255,255,.18)}.ib svg{width:20px;height:20px;fill:currentColor}" +
    ".hd :focus-visible{outline-color:var(--op)}" +
    ".st{padding:8px 14px;background:#fff4e5;color:#5c3b00;border-bottom:1px solid #f0c36d;font-size:14px}" +
    ".st.err{background:#fdecea;color:#7a1c12;border-color:#f2a69d}.w.dark .st,.w.hc .st{background:var(--bg);color:var(--fg);border-color:var(--bd)}" +
    ".lg{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px}" +
    ".m{display:flex;flex-direction:column;max-width:88%}.m.u{align-self:flex-end;align-items:flex-end}" +
    ".b{padding:9px 12px;border-radius:12px;background:var(--bb);overflow-wrap:anywhere}" +
    ".u .b{background:var(--p);color:var(--op)}" +
    ".b p{margin:0 0 .5em}.b p:last-child{margin:0}.b ul,.b ol{margin:.2em 0 .5em;padding-left:1.3em}" +
    ".b pre{white-space:pre-wrap;background:rgba(0,0,0,.07);padding:6px 8px;border-radius:6px;margin:.3em 0}" +
    ".b code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}" +
    ".b a,.sc a{color:inherit;text-decoration:underline}.b sup a,.b sup{font-size:.75em}" +
    ".sc{margin-top:6px;font-size:13px;color:var(--mu)}.sc ol{margin:2px 0 0;padding-left:1.4em}" +
    ".fb{display:flex;gap:4px;margin-top:4px}.fb button{background:transparent;border:1px solid var(--bd);border-radius:8px;" +
    "min-width:36px;min-height:32px;color:var(--fg)}.fb button[aria-pressed=true]{background:var(--p);color:var(--op);border-color:var(--p)}" +
    ".qr{display:flex;flex-wrap:wrap;gap:6px;padding:0 14px 8px}.qr button{border:1px solid var(--p);background:var(--bg);" +
    "color:var(--fg);border-radius:16px;padding:5px 12px;font-size:14px}" +
    ".f{display:flex;gap:8px;padding:10px;border-top:1px solid var(--bd)}" +
    ".f textarea{flex:1;resize:none;border:1px solid var(--bd);border-radius:10px;padding:8px 10px;min-height:40px;max-height:120px;background:var(--bg)}" +
    ".f button{border:0;border-radius:10px;padding:0 14px;background:var(--p);color:var(--op);font-weight:600}" +
    ".f button:disabled{opacity:.6;cursor:not-allowed}" +
    ".ty{color:var(--mu);font-style:italic}.nt{align-self:center;max-width:92%;margin:0;text-align:center;font-size:13px;color:var(--mu)}" +
    ".m.o .b{border:1px solid var(--p)}.m .who{font-size:12px;color:var(--mu);margin-bottom:2px}" +
    ".fm{border:1px solid var(--bd);border-radius:12px;padding:10px 12px;display:flex;flex-direction:column;gap:8px}" +
    ".fm p{margin:0}.fm .ft{font-weight:600}.fm label,.fm legend{display:block;font-size:14px;margin-bottom:2px}" +
    ".fm fieldset{border:0;margin:0;padding:0}.fm fieldset label{display:inline-flex;gap:4px;margin-right:10px}" +
    ".fm input:not([type=checkbox]):not([type=radio]),.fm select,.fm textarea{width:100%;border:1px solid var(--bd);border-radius:8px;padding:6px 8px;background:var(--bg);color:var(--fg);font:inherit}" +
    ".fm [aria-invalid=true]{border-color:#b3261e}.fm .fe{color:#b3261e;font-size:13px}.w.dark .fm .fe,.w.hc .fm .fe{color:var(--fg)}" +
    ".fm button{align-self:flex-start;border:0;border-radius:10px;padding:7px 14px;background:var(--p);color:var(--op);font-weight:600}" +
    "@media (max-width:480px){.pn,.small .pn,.large .pn{inset:0;width:100%;height:100%;max-width:none;max-height:none;border-radius:0;border:0}" +
    ".open .l{display:none}}" +
    "@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}";

  var ICON = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
    close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z",
    restart: "M12 5V1L7 6l5 5V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z",
    human: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-3.3 0-8 1.7-8 5v1h16v-1c0-3.3-4.7-5-8-5z"
  };

  // -- tiny DOM helpers -------------------------------------------------------------------------
  function el(tag, attrs, kids) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "cls") node.className = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg"), path = document.createElementNS(ns, "path");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
    path.setAttribute("d", ICON[name]); svg.appendChild(path);
    return svg;
  }
  function safeUrl(href) {
    try { var u = new URL(href, location.href); } catch (e) { return null; }
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  }
  function link(href, kids, onclick) {
    var url = safeUrl(href);
    if (!url) return null;
    var a = el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, kids);
    a.appendChild(el("span", { cls: "sr", text: " " + t("newtab") }));
    if (onclick) a.addEventListener("click", onclick);
    return a;
  }

  // -- safe Markdown: text in, DOM nodes out ----------------------------------------------------
  var INLINE = /(\*\*[^*\n]+\*\*|\*[^*\s][^*\n]*\*|`[^`\n]+`|\[[^\]\n]+\]\([^)\s]+\)|\[\d{1,3}\]|https?:\/\/[^\s<>()\]]+[^\s<>()\].,;:!?'"])/g;
  function inline(text, parent, cites) {
    var last = 0, m, re = new RegExp(INLINE.source, "g"); // a fresh one: the calls nest
    while ((m = re.exec(text))) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var tok = m[0], node = null;
      if (tok.slice(0, 2) === "**") { node = el("strong"); inline(tok.slice(2, -2), node, cites); }
      else if (tok[0] === "*") { node = el("em"); inline(tok.slice(1, -1), node, cites); }
      else if (tok[0] === "`") node = el("code", { text: tok.slice(1, -1) });
      else if (/^\[\d+\]$/.test(tok)) node = citeRef(+tok.slice(1, -1), cites);
      else if (tok[0] === "[") {
        var cut = tok.indexOf("](");
        node = link(tok.slice(cut + 2, -1), [tok.slice(1, cut)]) || document.createTextNode(tok.slice(1, cut));
      } else node = link(tok, [tok]) || document.createTextNode(tok);
      parent.appendChild(node);
      last = m.index + tok.length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function citeRef(n, cites) {
    var c = (cites || []).filter(function (x) { return x.id === n; })[0];
    var a = c && c.url ? link(c.url, ["[" + n + "]"], function () { track("citation_click", { id: n }); }) : null;
    if (a) a.setAttribute("aria-label", t("sources") + " " + n + ": " + c.title);
    return el("sup", {}, [a || "[" + n + "]"]);
  }
  function markdown(src, cites) {
    var frag = document.createDocumentFragment(), lines = src.replace(/\r/g, "").split("\n");
    var para = null, list = null, i = 0;
    function endBlocks() { para = null; list = null; }
    while (i < lines.length) {
      var line = lines[i], m;
      if (/^```/.test(line)) {
        var code = [];
        for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
        frag.appendChild(el("pre", {}, [el("code", { text: code.join("\n") })]));
        endBlocks(); i++; continue;
      }
      if (!line.trim()) { endBlocks(); i++; continue; }
      if ((m = /^#{1,6}\s+(.*)$/.exec(line))) {
        var h = el("p"), s = el("strong"); inline(m[1], s, cites); h.appendChild(s); frag.appendChild(h);
        endBlocks(); i++; continue;
      }
      if ((m = /^\s*(?:([-*+])|(\d{1,3})[.)])\s+(.*)$/.exec(line))) {
        var tag = m[1] ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) { list = el(tag); frag.appendChild(list); para = null; }
        var li = el("li"); inline(m[3], li, cites); list.appendChild(li);
        i++; continue;
      }
      if (!para) { para = el("p"); frag.appendChild(para); list = null; }
      else para.appendChild(el("br"));
      inline(line, para, cites);
      i++;
    }
    return frag;
  }

  // -- state ------------------------------------------------------------------------------------
  var config = null, fresh = false, lang = "it", listeners = {}, queue = [], busy = false, blockedUntil = 0, starting = null;
  var store = load();
  function load() { try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; } }
  function save() {
    try {
      if (config && config.conversation_lifetime_hours === 0) { var k = { v: store.v }; localStorage.setItem(STORE, JSON.stringify(k)); }
      else localStorage.setItem(STORE, JSON.stringify(store));
    } catch (e) { /* storage may be blocked: the conversation then lasts as long as the page */ }
  }
  function t(name, n) { return (TEXT[lang] || TEXT.en)[name].replace("{s}", n); }
  function emit(name, detail) {
    (listeners[name] || []).slice().forEach(function (fn) { try { fn(detail); } catch (e) { console.error(e); } });
  }

  // -- HTTP ---------------------------------------------------------------------------------------
  function HttpError(status, code, message, retry, details) { this.status = status; this.code = code; this.message = message; this.retry = retry; this.details = details; }
  function call(path, init) {
    init = init || {};
    init.headers = init.headers || {};
    if (init.body) init.headers["Content-Type"] = "application/json";
    return fetch(api + path, init).then(function (r) {
      if (r.ok) return r;
      return r.json().catch(function () { return {}; }).then(function (b) {
        var e = (b && b.error) || {};
        throw new HttpError(r.status, e.code || "error", e.message || "", +(r.headers.get("Retry-After") || 0), e.details);
      });
    });
  }
  function authed(path, init, retried) {
    return session().then(function () {
      init = init || {};
      init.headers = { Authorization: "Bearer " + store.t };
      return call(path, init);
    }).catch(function (e) {
      if (e.status === 401 && !retried) { delete store.t; save(); return authed(path, init, true); }
      throw e;
    });
  }
  function session() {
    if (store.t && store.e * 1000 > Date.now() + 30e3) return Promise.resolve();
    if (starting) return starting;
    starting = call("/sessions", {
      method: "POST", body: JSON.stringify({ key: pkey, visitor_id: store.v || null, conversation_id: store.c || null })
    }).then(function (r) { return r.json(); }).then(function (s) {
      fresh = !s.resumed;
      store.t = s.token; store.e = s.expires_at; store.v = s.visitor_id; store.c = s.conversation_id;
      store.a = store.a || Date.now(); save(); flush();
    }).then(function () { starting = null; }, function (e) { starting = null; throw e; });
    return starting;
  }
  function track(type, data) { queue.push({ type: type, data: data || {} }); if (store.t) flush(); }
  function flush() {
    if (!queue.length || !store.t || store.e * 1000 < Date.now()) return;
    var batch = queue.splice(0, 20);
    fetch(api + "/events", {
      method: "POST", keepalive: true, body: JSON.stringify({ events: batch }),
      headers: { Authorization: "Bearer " + store.t, "Content-Type": "application/json" }
    }).catch(function () {});
  }

  // -- the DOM ------------------------------------------------------------------------------------
  var host = el("div", { id: "chatbot-platform-widget" });
  var root = host.attachShadow({ mode: "open" });
  function sheet(css) {
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && "replaceSync" in CSSStyleSheet.prototype) {
      var s = new CSSStyleSheet(); s.replaceSync(css); root.adoptedStyleSheets = root.adoptedStyleSheets.concat([s]);
    } else root.appendChild(el("style", { text: css }));
  }
  var ui = {};
  function build() {
    var th = config.theme;
    ui.launcher = el("button", { cls: "l", type: "button", "aria-expanded": "false", "aria-controls": "cbp-panel", "aria-label": t("open") }, [icon("chat")]);
    ui.title = el("h2", { id: "cbp-title", text: th.title || config.name });
    ui.restart = el("button", { cls: "ib", type: "button", "aria-label": t("restart"), title: t("restart") }, [icon("restart")]);
    ui.human = el("button", { cls: "ib", type: "button", "aria-label": t("human"), title: t("human") }, [icon("human")]);
    ui.close = el("button", { cls: "ib", type: "button", "aria-label": t("close"), title: t("close") }, [icon("close")]);
    ui.status = el("div", { cls: "st", role: "status", hidden: "" });
    ui.log = el("div", { cls: "lg", role: "region", tabindex: "0", "aria-label": t("log") });
    ui.quick = el("div", { cls: "qr", role: "group", "aria-label": t("quick") });
    ui.input = el("textarea", { id: "cbp-input", rows: "1", placeholder: t("placeholder"), maxlength: "2000" });
    ui.send = el("button", { type: "submit", text: t("send") });
    ui.form = el("form", { cls: "f" }, [el("label", { cls: "sr", for: "cbp-input", text: t("input") }), ui.input, ui.send]);
    ui.live = el("div", { cls: "sr", "aria-live": "polite", "aria-atomic": "true" });
    var logo = th.logo_url && safeUrl(th.logo_url) ? el("img", { src: safeUrl(th.logo_url), alt: "" }) : null;
    ui.panel = el("section", { cls: "pn", id: "cbp-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "cbp-title", hidden: "", lang: lang },
      [el("div", { cls: "hd" }, [logo, ui.title, ui.human, ui.restart, ui.close]), ui.status, ui.log, ui.quick, ui.form, ui.live]);
    ui.wrap = el("div", { cls: ["w", th.position === "bottom-left" ? "left" : "", th.size || "medium", th.dark_mode || "light", th.high_contrast ? "hc" : ""].join(" "), lang: lang }, [ui.launcher, ui.panel]);
    var colors = th.high_contrast ? [] : [["--p", th.primary_color], ["--op", th.text_on_primary]];
    if (!th.high_contrast && (th.dark_mode || "light") === "light") colors.push(["--bg", th.background_color], ["--fg", th.text_color]);
    colors.forEach(function (v) { if (v[1] && /^#[0-9a-f]{6}$/i.test(v[1])) ui.wrap.style.setProperty(v[0], v[1]); });
    root.appendChild(ui.wrap);
    if (th.custom_css) sheet(th.custom_css);

    ui.launcher.addEventListener("click", function () { ui.panel.hidden ? api_.open() : api_.close(); });
    ui.close.addEventListener("click", function () { api_.close(); });
    ui.restart.addEventListener("click", function () { restart(); });
    ui.human.addEventListener("click", function () { askHuman(); });
    ui.form.addEventListener("submit", function (ev) { ev.preventDefault(); api_.send(ui.input.value); });
    ui.input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); api_.send(ui.input.value); }
    });
    ui.panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { ev.stopPropagation(); api_.close(); } });
    window.addEventListener("offline", function () { state("offline"); });
    window.addEventListener("online", function () { state(null); });
  }

  function state(kind, seconds) {
    ui.status.hidden = !kind;
    ui.status.className = "st" + (kind === "error" ? " err" : "");
    ui.status.setAttribute("data-state", kind || "");
    ui.status.textContent = kind ? t(kind === "rate_limited" ? "limited" : kind, seconds) : "";
    if (kind) emit("state", { state: kind });
  }
  function fail(e) {
    var kind = "error", seconds;
    if (e instanceof HttpError) {
      if (e.status === 429) { kind = "rate_limited"; seconds = e.retry || 60; blockedUntil = Date.now() + seconds * 1000; }
      else if (e.status === 503) kind = "maintenance";
    } else if (!navigator.onLine) kind = "offline";
    state(kind, seconds);
    emit("error", { state: kind, code: e && e.code });
    return kind;
  }

  function welcome() {
    var text = (config.theme.welcome_message || {})[lang] || t("welcome");
    ui.log.appendChild(bubble("a", text, [], null));
    ui.quick.replaceChildren();
    (config.theme.quick_replies || []).forEach(function (q) {
      var b = el("button", { type: "button", text: q });
      b.addEventListener("click", function () { track("quick_reply", { text: q }); api_.send(q); });
      ui.quick.appendChild(b);
    });
    ui.quick.hidden = !ui.quick.childNodes.length;
  }

  function notice(text) {
    if (!text) return;
    ui.log.appendChild(el("p", { cls: "nt", text: text })); scroll();
    ui.live.textContent = text;
  }
  function operatorSays(text, name) {
    var node = el("div", { cls: "m o" }, [el("span", { cls: "who", text: t("operator") + (name ? " · " + name : "") + ":" }), el("div", { cls: "b" }, [markdown(text)])]);
    ui.log.appendChild(node); scroll();
    ui.live.textContent = t("operator") + ": " + text;
  }
  function bubble(role, text, cites, messageId, feedback) {
    if (role === "notice") return el("p", { cls: "nt", text: text });
    if (role === "operator") return el("div", { cls: "m o" }, [el("span", { cls: "who", text: t("operator") + ":" }), el("div", { cls: "b" }, [markdown(text)])]);
    var body = el("div", { cls: "b" });
    var node = el("div", { cls: "m " + (role === "user" ? "u" : "a") }, [el("span", { cls: "sr", text: t(role === "user" ? "you" : "bot") + ": " }), body]);
    if (role === "user") body.textContent = text;
    else finish(node, text, cites, messageId, feedback);
    return node;
  }
  function finish(node, text, cites, messageId, feedback) {
    var body = node.querySelector(".b");
    body.replaceChildren(markdown(text, cites));
    var shown = (cites || []).filter(function (c) { return text.indexOf("[" + c.id + "]") >= 0; });
    if (!shown.length) shown = cites || [];
    if (shown.length) {
      var list = el("ol");
      shown.forEach(function (c) {
        var a = link(c.url, [c.title], function () { track("citation_click", { id: c.id }); });
        list.appendChild(el("li", { value: String(c.id) }, [a || c.title]));
      });
      node.appendChild(el("div", { cls: "sc" }, [el("span", { text: t("sources") + ":" }), list]));
    }
    if (messageId) node.appendChild(feedbackButtons(messageId, feedback));
  }
  function feedbackButtons(messageId, current) {
    var box = el("div", { cls: "fb", role: "group", "aria-label": t("up") + " / " + t("down") });
    [[1, "up", "\uD83D\uDC4D"], [-1, "down", "\uD83D\uDC4E"]].forEach(function (f) {
      var b = el("button", { type: "button", "aria-label": t(f[1]), title: t(f[1]), "aria-pressed": String(current === f[0]), "data-rating": String(f[0]) }, [el("span", { "aria-hidden": "true", text: f[2] })]);
      b.addEventListener("click", function () {
        authed("/feedback", { method: "POST", body: JSON.stringify({ message_id: messageId, rating: f[0] }) }).then(function () {
          box.querySelectorAll("button").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
          ui.live.textContent = t("thanks");
          emit("feedback", { message_id: messageId, rating: f[0] });
        }).catch(fail);
      });
      box.appendChild(b);
    });
    return box;
  }
  function scroll() { ui.log.scrollTop = ui.log.scrollHeight; }

  var historyShown = null;
  function showHistory() {
    if (historyShown) return historyShown;
    if (!store.c) { welcome(); historyShown = Promise.resolve(); return historyShown; }
    historyShown = session().then(function () {
      return fresh ? { messages: [] } : authed("/conversation").then(function (r) { return r.json(); });
    }).then(function (h) {
      ui.log.replaceChildren();
      if (!h.messages.length) { welcome(); return; }
      ui.quick.hidden = true;
      h.messages.forEach(function (m) { ui.log.appendChild(bubble(m.role, m.content, m.citations, m.role === "assistant" ? m.id : null, m.feedback)); });
      scroll();
      return authed("/handoff").then(function (r) { return r.json(); }).then(function (state) { shown = stateOf(state); if (opened(state.status)) listen(); });
    }).catch(function (e) { if (!ui.log.childNodes.length) welcome(); fail(e); });
    return historyShown;
  }

  // -- a human: the service desk's handoff and its live stream ----------------------------------
  var listening = null, shown = null; // shown: the handoff state whose notice is on screen
  function opened(status) { return status === "queued" || status === "active"; }
  function stateOf(h) { return h.status + "|" + (h.operator || ""); }
  function askHuman() {
    return authed("/handoff", { method: "POST", body: JSON.stringify({}) }).then(function (r) { return r.json(); }).then(function (h) {
      notice(h.message); shown = stateOf(h);
      if (opened(h.status)) listen();
      if (h.form) showForm(h.form);
      emit("handoff", { status: h.status });
    }).catch(fail);
  }
  function listen() {
    if (listening || !window.AbortController) return;
    listening = new AbortController();
    var stop = listening;
    authed("/handoff/stream", { signal: stop.signal }).then(function (r) {
      return readEvents(r, function (ev) {
        if (ev.type === "operator_message") { operatorSays(ev.text, ev.operator); emit("operator_message", { text: ev.text }); }
        else if (ev.type === "handoff") {
          if (stateOf(ev) !== shown) notice(ev.message);
          shown = stateOf(ev);
          if (ev.status && !opened(ev.status)) stop.abort();
          emit("handoff", { status: ev.status });
        }
      });
    }).catch(function () {}).then(function () { if (listening === stop) listening = null; });
  }
  function readEvents(response, onEvent) {
    var reader = response.body.getReader(), decoder = new TextDecoder(), buf = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buf += decoder.decode(chunk.value, { stream: true });
        var parts = buf.split("\n\n"); buf = parts.pop();
        parts.forEach(function (part) {
          var data = part.split("\n").filter(function (l) { return l.indexOf("data: ") === 0; }).map(function (l) { return l.slice(6); }).join("\n");
          if (data) onEvent(JSON.parse(data));
        });
        return pump();
      });
    }
    return pump();
  }

  // -- forms of the service desk: built from their description, checked by the server ----------
  var formsShown = {};
  function checkForms(check) {
    return authed("/forms/trigger", { method: "POST", body: JSON.stringify(check) }).then(function (r) { return r.json(); })
      .then(function (res) { if (res.form) showForm(res.form); }).catch(function () {});
  }
  function showForm(form) {
    if (formsShown[form.id]) return;
    formsShown[form.id] = true;
    var fid = "cbp-f" + Object.keys(formsShown).length, errors = {}, inputs = {};
    var status = el("p", { cls: "fe", role: "alert", hidden: "" });
    var box = el("form", { cls: "fm", "aria-labelledby": fid + "t", novalidate: "" }, [el("p", { cls: "ft", id: fid + "t", text: form.title }), form.description ? el("p", { text: form.description }) : null]);
    var trap = el("input", { name: form.honeypot_field, tabindex: "-1", autocomplete: "off" });
    form.fields.forEach(function (f, n) {
      var id = fid + "-" + n, err = el("p", { cls: "fe", id: id + "e", hidden: "" }), node;
      var req = f.required ? { required: "", "aria-required": "true" } : {};
      if (f.type === "radio" || (f.type === "checkbox" && f.options.length)) {
        node = el("fieldset", { "aria-describedby": id + "e" }, [el("legend", { text: f.label + (f.required ? " *" : "") })]);
        f.options.forEach(function (o, k) {
          node.appendChild(el("label", {}, [el("input", { type: f.type, name: id, value: o, id: id + "-" + k }), o]));
        });
        inputs[f.name] = { kind: f.type + "s", node: node };
      } else {
        var attrs = Object.assign({ id: id, name: f.name, "aria-describedby": id + "e", placeholder: f.placeholder }, req);
        var input = f.type === "textarea" ? el("textarea", Object.assign({ rows: "3" }, attrs))
          : f.type === "select" ? el("select", attrs, [el("option", { value: "", text: "—" })].concat(f.options.map(function (o) { return el("option", { value: o, text: o }); })))
          : el("input", Object.assign({ type: { email: "email", phone: "tel", date: "date", number: "number", checkbox: "checkbox" }[f.type] || "text" }, attrs));
        node = el("div", {}, f.type === "checkbox" ? [el("label", {}, [input, " " + f.label + (f.required ? " *" : "")])] : [el("label", { for: id, text: f.label + (f.required ? " *" : "") }), input]);
        inputs[f.name] = { kind: f.type === "checkbox" ? "check" : "value", node: input };
      }
      errors[f.name] = err;
      box.appendChild(node); box.appendChild(err);
    });
    box.appendChild(el("div", { hidden: "" }, [el("label", { text: "Website" }, [trap])]));
    box.appendChild(status);
    box.appendChild(el("button", { type: "submit", text: t("send") }));
    box.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var data = {};
      Object.keys(inputs).forEach(function (name) {
        var i = inputs[name];
        if (i.kind === "value") data[name] = i.node.value;
        else if (i.kind === "check") data[name] = i.node.checked;
        else {
          var picked = [].slice.call(i.node.querySelectorAll("input:checked")).map(function (x) { return x.value; });
          data[name] = i.kind === "radios" ? picked[0] || "" : picked;
        }
      });
      authed("/forms/" + form.id + "/submissions", { method: "POST", body: JSON.stringify({ data: data, form_token: form.form_token, website: trap.value || null, locale: lang }) })
        .then(function () { box.replaceWith(el("p", { cls: "nt", text: t("thanksForm") })); ui.live.textContent = t("thanksForm"); emit("form_submitted", { form_id: form.id }); })
        .catch(function (e) {
          if (!(e instanceof HttpError) || e.status !== 422) { fail(e); return; }
          var bad = (e.details && e.details.fields) || {}, first = null;
          Object.keys(errors).forEach(function (name) {
            var msg = bad[name], target = inputs[name].node;
            errors[name].hidden = !msg; errors[name].textContent = msg || "";
            target.setAttribute("aria-invalid", msg ? "true" : "false");
            if (msg && !first) first = target.querySelector ? target.querySelector("input") || target : target;
          });
          status.hidden = false; status.textContent = e.code === "submitted_too_fast" ? t("tooFast") : t("formErrors");
          (first || box.querySelector("button")).focus();
        });
    });
    ui.log.appendChild(box); scroll();
  }

  function restart() {
    var done = store.c ? authed("/conversations", { method: "POST" }).then(function (r) { return r.json(); }).then(function (s) {
      store.t = s.token; store.e = s.expires_at; store.c = s.conversation_id; store.a = Date.now(); save();
    }) : Promise.resolve();
    return done.then(function () {
      if (listening) { listening.abort(); listening = null; }
      track("new_conversation");
      ui.log.replaceChildren(); welcome(); state(null); ui.input.focus();
      emit("new_conversation", {});
    }).catch(fail);
  }

  function ask(text) {
    busy = true; ui.send.disabled = true; ui.quick.hidden = true; state(null);
    ui.log.appendChild(bubble("user", text));
    var node = el("div", { cls: "m a", "aria-busy": "true" }, [el("span", { cls: "sr", text: t("bot") + ": " }), el("div", { cls: "b ty", text: t("typing") })]);
    ui.log.appendChild(node); scroll();
    emit("message", { text: text });
    var acc = "";
    return authed("/chat", { method: "POST", body: JSON.stringify({ message: text }) }).then(function (r) {
      var body = node.querySelector(".b"), done = null;
      return readEvents(r, function (ev) {
        if (ev.type === "delta") { acc += ev.text; body.className = "b"; body.replaceChildren(markdown(acc)); scroll(); }
        else if (ev.type === "done") done = ev;
        else if (ev.type === "routed" || ev.type === "handoff") done = ev;
        else if (ev.type === "error") throw new HttpError(500, ev.code, ev.message, 0);
      }).then(function () { return done; });
    }).then(function (done) {
      done = done || { citations: [], message_id: null };
      if (done.type === "routed" || done.type === "handoff") {
        node.remove(); notice(done.message);
        if (done.type === "handoff") shown = stateOf(done);
        if (done.type === "handoff" && opened(done.status)) listen();
        else if (done.type === "handoff") authed("/handoff").then(function (r) { return r.json(); }).then(function (h) { if (h.form) showForm(h.form); }).catch(function () {});
        store.a = Date.now(); save();
        return;
      }
      node.removeAttribute("aria-busy");
      node.querySelector(".b").className = "b";
      finish(node, acc, done.citations, done.message_id, null);
      ui.live.textContent = t("bot") + ": " + acc.replace(/\[\d+\]/g, "");
      store.a = Date.now(); save(); scroll(); flush();
      emit("answer", { text: acc, citations: done.citations, message_id: done.message_id });
      notice(done.offer);
      checkForms({ message: text, message_count: ui.log.querySelectorAll(".m.u").length, dont_know: done.outcome === "dont_know" });
    }).catch(function (e) {
      node.remove();
      fail(e);
    }).then(function () {
      busy = false;
      ui.send.disabled = Date.now() < blockedUntil;
      if (ui.send.disabled) setTimeout(function () { ui.send.disabled = busy; if (ui.status.getAttribute("data-state") === "rate_limited") state(null); }, blockedUntil - Date.now());
    });
  }

  // -- the host page's API ----------------------------------------------------------------------
  var api_ = {
    mounted: true,
    ready: false,
    open: function () {
      if (!ui.panel) return;
      ui.panel.hidden = false; ui.wrap.classList.add("open");
      ui.launcher.setAttribute("aria-expanded", "true"); ui.launcher.setAttribute("aria-label", t("close"));
      if (!navigator.onLine) state("offline");
      track("open"); emit("open", {});
      showHistory();
      ui.input.focus();
    },
    close: function () {
      if (!ui.panel || ui.panel.hidden) return;
      ui.panel.hidden = true; ui.wrap.classList.remove("open");
      ui.launcher.setAttribute("aria-expanded", "false"); ui.launcher.setAttribute("aria-label", t("open"));
      track("close"); emit("close", {});
      ui.launcher.focus();
    },
    send: function (text) {
      text = String(text || "").trim();
      if (!text || busy || !ui.panel || Date.now() < blockedUntil) return false;
      if (ui.panel.hidden) api_.open();
      ui.input.value = "";
      showHistory().then(function () { ask(text); });
      return true;
    },
    newConversation: function () { return restart(); },
    on: function (name, fn) {
      (listeners[name] = listeners[name] || []).push(fn);
      return function () { listeners[name] = listeners[name].filter(function (f) { return f !== fn; }); };
    }
  };
  window.ChatbotPlatform = api_;

  function pickLang(defaultLocale) {
    var page = (document.documentElement.lang || navigator.language || "").slice(0, 2).toLowerCase();
    var theme = config && config.theme.locale !== "auto" ? config.theme.locale : null;
    var l = opts.locale || theme || (TEXT[page] ? page : null) || defaultLocale;
    return TEXT[l] ? l : "en";
  }
  function mount(cfg) {
    if (window.performance && performance.mark) performance.mark("cbp:config");
    config = cfg;
    // A conversation stored by an earlier page is resumed only within its lifetime.
    var life = (cfg.conversation_lifetime_hours || 0) * 3600e3;
    if (store.c && (!store.a || Date.now() - store.a > life)) { delete store.c; delete store.t; save(); }
    lang = pickLang(cfg.default_locale);
    sheet(CSS);
    build();
    (document.body || document.documentElement).appendChild(host);
    api_.ready = true;
    if (window.performance && performance.mark) performance.mark("cbp:interactive");
    emit("ready", {});
    window.dispatchEvent(new CustomEvent("chatbot-platform:ready"));
    if (opts.open === "true") api_.open();
  }
  var fallback = { name: "Chat", default_locale: "it", conversation_lifetime_hours: 24, theme: { quick_replies: [], welcome_message: {}, locale: "auto" } };
  configured.then(mount, function (e) {
    if (e instanceof HttpError && e.status === 503 && e.code !== "widget_disabled") { mount(fallback); state("maintenance"); return; }
    if (!(e instanceof HttpError) && !navigator.onLine) { mount(fallback); state("offline"); return; }
    console.warn("[chatbot] widget not available here:", e && (e.message || e.code || e));
  });
})();
