// Keyboard shortcuts for the agent workspace. Ignored while typing in a field.
//   /  focus the search box        j / k  next / previous ticket in the queue
//   x  tick the focused ticket     o or Enter  open it
//   r  reply on a ticket page      n  internal note on a ticket page
(function () {
  "use strict";
  function typing(event) {
    const el = event.target;
    return el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }
  function rows() {
    return Array.from(document.querySelectorAll("table.queue tbody tr"));
  }
  let current = -1;
  function focusRow(index) {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("kbd-focus", i === current));
    const link = all[current].querySelector("td a");
    if (link) link.focus();
  }
  document.addEventListener("keydown", function (event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (key === "/") {
      const search = document.querySelector("input[name=q]");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (key === "j" || key === "k") {
      event.preventDefault();
      focusRow(current + (key === "j" ? 1 : -1));
    } else if (key === "x" && current >= 0) {
      const box = rows()[current].querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (key === "o" && current >= 0) {
      const link = rows()[current].querySelector("td a");
      if (link) link.click();
    } else if (key === "r" || key === "n") {
      const body = document.getElementById("id_body");
      const note = document.getElementById("id_is_internal");
      if (body) {
        event.preventDefault();
        if (note) note.checked = key === "n";
        body.focus();
      }
    }
  });
  // Lets tests (and styles) know the shortcuts are listening.
  document.documentElement.dataset.shortcuts = "on";
})();
