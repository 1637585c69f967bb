// The chat widget's loader, for a desk's own product (docs/chat.md, "Embedding the
// widget"). Served by the desk's host at /widget.js:
//
//   <script src="https://<desk host>/widget.js" data-token="<identity token>" async></script>
//
// or, in a single-page app, once the script has loaded:
//
//   HelpdeskWidget.boot({ token: "<identity token>" })   // or token: () => fetch(...)...
//
// It adds a launcher button to the page; the first click opens a frame of the desk's
// widget (/widget/). The frame asks for the token by postMessage, and gets it posted to
// the desk's origin only (never in an address, never to another frame). `token` may be a
// function returning the token or a promise of it: it is asked each time the widget
// signs in (a session lasts two hours). Optional: `language` ("en", "zh-hans") for the
// button's words, else the page's language.
(function () {
  "use strict";

  if (window.HelpdeskWidget && window.HelpdeskWidget.version) return; // included twice
  var script = document.currentScript;
  if (!script) return;
  var desk = new URL(script.src, location.href).origin;
  var LABELS = {
    en: {
      open: "Chat with us",
      close: "Close the chat",
      failed: "The chat cannot open on this page.",
    },
    zh: { open: "与我们聊天", close: "关闭聊天", failed: "此页面无法打开聊天。" },
  };
  // A frame that never says it is ready was refused by the browser (this site is not
  // one the desk lists) or could not load.
  var READY_WITHIN_MS = 8000;
  var state = null;

  function labels(language) {
    var code = String(language || document.documentElement.lang || navigator.language || "");
    return code.toLowerCase().indexOf("zh") === 0 ? LABELS.zh : LABELS.en;
  }

  // Style properties set one by one (CSSOM): allowed under the page's own CSP, which
  // would refuse style attributes.
  function style(element, rules) {
    Object.keys(rules).forEach(function (name) {
      element.style[name] = rules[name];
    });
  }

  function currentToken() {
    var given = state.options.token;
    return Promise.resolve(typeof given === "function" ? given() : given);
  }

  function onMessage(event) {
    if (!state || !state.frame) return;
    if (event.source !== state.frame.contentWindow || event.origin !== desk) return;
    var data = event.data || {};
    if (data.type !== "helpdesk-widget:ready") return;
    clearTimeout(state.timer);
    state.notice.hidden = true;
    var frame = state.frame;
    currentToken().then(function (token) {
      frame.contentWindow.postMessage(
        { type: "helpdesk-widget:token", token: String(token || "") },
        desk
      );
    });
  }

  function frameFor(panel) {
    var frame = document.createElement("iframe");
    frame.src = desk + "/widget/";
    frame.title = state.text.open;
    style(frame, {
      width: "min(24rem, calc(100vw - 2.5rem))",
      height: "min(38rem, calc(100vh - 6rem))",
      border: "1px solid #dde2ea",
      borderRadius: "10px",
      background: "#fff",
      boxShadow: "0 8px 30px rgba(20, 30, 60, .18)",
      display: "block",
    });
    panel.appendChild(frame);
    state.timer = setTimeout(function () {
      state.notice.hidden = false;
    }, READY_WITHIN_MS);
    return frame;
  }

  function open() {
    if (!state) return;
    if (!state.frame) state.frame = frameFor(state.panel);
    state.panel.hidden = false;
    state.button.setAttribute("aria-expanded", "true");
    state.button.textContent = state.text.close;
  }

  function close() {
    if (!state) return;
    // The frame stays: its chat keeps running and reopens where it was.
    state.panel.hidden = true;
    state.button.setAttribute("aria-expanded", "false");
    state.button.textContent = state.text.open;
  }

  function shutdown() {
    if (!state) return;
    clearTimeout(state.timer);
    window.removeEventListener("message", onMessage);
    state.root.remove();
    state = null;
  }

  function boot(options) {
    shutdown();
    options = options || {};
    state = { options: options, text: labels(options.language), frame: null, timer: null };
    var root = document.createElement("div");
    root.className = "helpdesk-widget";
    style(root, {
      position: "fixed",
      right: "1.25rem",
      bottom: "1.25rem",
      zIndex: "2147483000",
      display: "flex",
      flexDirection: "column",
      alignItems: "flex-end",
      gap: ".5rem",
      fontFamily: "system-ui, sans-serif",
    });
    var panel = document.createElement("div");
    panel.hidden = true;
    var notice = document.createElement("p");
    notice.className = "helpdesk-widget-notice";
    notice.setAttribute("role", "alert");
    notice.textContent = state.text.failed;
    notice.hidden = true;
    style(notice, { background: "#fff", padding: ".5rem .8rem", borderRadius: "6px", margin: "0 0 .5rem" });
    panel.appendChild(notice);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "helpdesk-widget-button";
    button.textContent = state.text.open;
    button.setAttribute("aria-expanded", "false");
    style(button, {
      border: "0",
      borderRadius: "999px",
      padding: ".7rem 1.2rem",
      background: "#2453d4",
      color: "#fff",
      font: "inherit",
      cursor: "pointer",
      boxShadow: "0 4px 14px rgba(20, 30, 60, .2)",
    });
    button.addEventListener("click", function () {
      if (state.panel.hidden) open();
      else close();
    });
    root.append(panel, button);
    document.body.appendChild(root);
    state.root = root;
    state.panel = panel;
    state.notice = notice;
    state.button = button;
    window.addEventListener("message", onMessage);
  }

  window.HelpdeskWidget = { version: 1, boot: boot, shutdown: shutdown, open: open, close: close };

  if (script.dataset.token) {
    var start = function () {
      boot({ token: script.dataset.token, language: script.dataset.language });
    };
    if (document.body) start();
    else document.addEventListener("DOMContentLoaded", start);
  }
})();
