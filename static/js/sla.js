// Live SLA countdowns: every badge with a due time (data-due) counts down and
// turns amber inside its warning window (data-warn) and red once overdue.
// The server renders the same text and colour (sla.display.sla_badge), so a page
// without JavaScript is right when loaded and only stops counting.
(function () {
  "use strict";

  function countdown(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var rest = minutes % 60;
    if (days) return days + "d " + hours + "h";
    if (hours) return hours + "h " + (rest < 10 ? "0" : "") + rest + "m";
    return rest + "m";
  }

  function update() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (badge) {
      if (!badge.dataset.due) return;
      var left = Date.parse(badge.dataset.due) - now;
      var warn = badge.dataset.warn ? Date.parse(badge.dataset.warn) : null;
      var state = left <= 0 ? "breached" : warn !== null && now >= warn ? "warning" : "on-track";
      var holder = badge.closest("[data-sla-overdue]");
      var overdue = holder ? holder.dataset.slaOverdue : "overdue %(time)s";
      badge.textContent = left <= 0 ? overdue.replace("%(time)s", countdown(left)) : countdown(left);
      badge.classList.remove("sla-breached", "sla-warning", "sla-on-track");
      badge.classList.add("sla-" + state);
    });
  }

  document.addEventListener("DOMContentLoaded", update);
  document.addEventListener("htmx:afterSwap", update);
  setInterval(update, 15000);
})();
