// Behaviour every page may use, without inline handlers (the Content-Security-Policy
// refuses those): a <select data-submit-on-change> submits its form when changed
// (the language switcher; its <noscript> button does the same without JavaScript).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-submit-on-change]") && field.form) {
      field.form.submit();
    }
  });
})();
