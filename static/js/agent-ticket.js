// The agent's ticket page:
// - the macro picker (select[data-preview-url]) fills the reply box with the
//   macro's text for this ticket;
// - the presence poll (#presence, htmx) says whether this agent is typing a reply;
// - "Insert link in reply" beside a suggested article puts its link where the cursor is.
(function () {
  "use strict";

  function fillFrom(picker) {
    fetch(picker.dataset.previewUrl + picker.value + "/")
      .then(function (response) { return response.text(); })
      .then(function (text) { document.getElementById("id_body").value = text; });
  }

  document.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.matches || !picker.matches("select[data-preview-url]") || !picker.value) return;
    fillFrom(picker);
  });

  // A macro picked before this script ran (it is deferred: a quick hand on a slow
  // connection) fills the reply box now.
  var early = document.querySelector("select[data-preview-url]");
  if (early && early.value && !document.getElementById("id_body").value) fillFrom(early);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert-link]");
    if (!button) return;
    var body = document.getElementById("id_body");
    var at = body.selectionStart === undefined ? body.value.length : body.selectionStart;
    var before = body.value.slice(0, at);
    var text = (before && !/\s$/.test(before) ? " " : "") + button.dataset.insertLink;
    body.value = before + text + body.value.slice(body.selectionEnd || at);
    body.focus();
    body.selectionStart = body.selectionEnd = at + text.length;
  });

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id !== "presence") return;
    var body = document.getElementById("id_body");
    event.detail.parameters.typing = body && body.value ? "1" : "0";
  });
})();
