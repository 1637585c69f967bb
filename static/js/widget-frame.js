// The chat widget's frame before it knows anyone (chat/templates/chat/widget_frame.html).
// It tells the page embedding it that it is ready, receives that page's identity token by
// postMessage (the browser, not the page, says which site sent it: `event.origin`),
// exchanges both at /widget/session/ for a widget session, and opens the widget. The
// token never enters an address; no cookie is used (a frame inside another site gets
// none from us).
(function () {
  "use strict";

  var shell = document.getElementById("widget-shell");
  if (!shell) return;
  var status = shell.querySelector(".widget-status");
  var errorLine = shell.querySelector(".widget-error");
  var exchanging = false;

  function fail(message) {
    status.hidden = true;
    errorLine.textContent = message;
    errorLine.hidden = false;
  }

  if (window.parent === window) {
    fail(shell.dataset.tAlone);
    return;
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source !== window.parent || !data || data.type !== "helpdesk-widget:token") return;
    if (exchanging) return;
    exchanging = true;
    fetch(shell.dataset.session, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token: data.token, origin: event.origin }),
      credentials: "omit",
    })
      .then(function (response) {
        return response.json().then(function (answer) {
          return { ok: response.ok, answer: answer };
        });
      })
      .then(function (result) {
        if (result.ok && result.answer.url) {
          location.replace(result.answer.url);
          return;
        }
        exchanging = false; // a page may boot the widget again with a better token
        fail(result.answer.error || shell.dataset.tUnreachable);
      })
      .catch(function () {
        exchanging = false;
        fail(shell.dataset.tUnreachable);
      });
  });

  // Nothing secret in it: any page may hear that a frame of ours is ready.
  window.parent.postMessage({ type: "helpdesk-widget:ready" }, "*");
})();
