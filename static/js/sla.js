// Live SLA countdowns: every badge with a due time (data-due) counts down and
// turns amber inside its warning window (data-warn) and red once overdue.
// The server renders the same text and colour (sla.display.sla_badge), so a page
// without JavaScript is right when loaded and only stops counting. The words come
// from the element holding the badges ({% sla_countdown_words %}: data-sla-days,
// -hours, -minutes and -overdue, Python %-formats in the reader's language).
(function () {
  "use strict";

  var ENGLISH = {
    slaDays: "%(days)dd %(hours)dh",
    slaHours: "%(hours)dh %(minutes)02dm",
    slaMinutes: "%(minutes)dm",
    slaOverdue: "overdue %(time)s",
  };

  // The few %-formats the countdown's words use: %(name)d, %(name)02d and %(name)s.
  function format(template, values) {
    return template.replace(/%\((\w+)\)(02d|d|s)/g, function (_match, name, kind) {
      var value = values[name];
      if (kind === "02d") return (value < 10 ? "0" : "") + value;
      return String(value);
    });
  }

  function words(holder, name) {
    return (holder && holder.dataset[name]) || ENGLISH[name];
  }

  function countdown(ms, holder) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var values = {
      days: Math.floor(minutes / 1440),
      hours: Math.floor((minutes % 1440) / 60),
      minutes: minutes % 60,
    };
    var unit = values.days ? "slaDays" : values.hours ? "slaHours" : "slaMinutes";
    return format(words(holder, unit), values);
  }

  function update() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (badge) {
      if (!badge.dataset.due) return;
      var left = Date.parse(badge.dataset.due) - now;
      var warn = badge.dataset.warn ? Date.parse(badge.dataset.warn) : null;
      var state = left <= 0 ? "breached" : warn !== null && now >= warn ? "warning" : "on-track";
      var holder = badge.closest("[data-sla-overdue]");
      var time = countdown(left, holder);
      badge.textContent = left <= 0 ? format(words(holder, "slaOverdue"), { time: time }) : time;
      badge.classList.remove("sla-breached", "sla-warning", "sla-on-track");
      badge.classList.add("sla-" + state);
    });
  }

  document.addEventListener("DOMContentLoaded", update);
  document.addEventListener("htmx:afterSwap", update);
  setInterval(update, 15000);
})();
