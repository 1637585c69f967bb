// Live SLA countdowns: every badge with a due time (data-due) counts down and
// turns amber inside its warning window (data-warn) and red once overdue.
// The server renders the same text and colour (sla.display.sla_badge), so a page
// without JavaScript is right when loaded and only stops counting.
(function () {
  "use strict";

  // The words come from the page (data-sla-days, -hours, -minutes: sla.display's
  // countdown_formats, in the reader's language), e.g. "%(days)dd %(hours)dh".
  function countdown(ms, words) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var values = {
      days: Math.floor(minutes / 1440),
      hours: Math.floor((minutes % 1440) / 60),
      minutes: minutes % 60,
    };
    var format = values.days ? words.slaDays : values.hours ? words.slaHours : words.slaMinutes;
    return format.replace(/%\((\w+)\)(02)?d/g, function (_match, name, padded) {
      var value = String(values[name]);
      return padded && value.length < 2 ? "0" + value : value;
    });
  }

  var ENGLISH = {
    slaDays: "%(days)dd %(hours)dh",
    slaHours: "%(hours)dh %(minutes)02dm",
    slaMinutes: "%(minutes)dm",
    slaOverdue: "overdue %(time)s",
  };

  function update() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (badge) {
      if (!badge.dataset.due) return;
      var left = Date.parse(badge.dataset.due) - now;
      var warn = badge.dataset.warn ? Date.parse(badge.dataset.warn) : null;
      var state = left <= 0 ? "breached" : warn !== null && now >= warn ? "warning" : "on-track";
      var holder = badge.closest("[data-sla-overdue]");
      var words = holder ? holder.dataset : ENGLISH;
      var text = countdown(left, words);
      badge.textContent = left <= 0 ? words.slaOverdue.replace("%(time)s", text) : text;
      badge.classList.remove("sla-breached", "sla-warning", "sla-on-track");
      badge.classList.add("sla-" + state);
    });
  }

  document.addEventListener("DOMContentLoaded", update);
  document.addEventListener("htmx:afterSwap", update);
  setInterval(update, 15000);
})();
