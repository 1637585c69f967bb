// The help center's chat launcher (templates/base.html): a button that opens the chat
// page (chat/, its compact layout) in a frame beside the page, and closes it again. The
// chat keeps running on the server: reopening the frame reconnects and catches up.
(function () {
  "use strict";

  var launcher = document.querySelector(".chat-launcher");
  if (!launcher) return;
  var button = launcher.querySelector(".chat-launcher-button");
  var frame = null;

  button.addEventListener("click", function () {
    if (frame) {
      frame.remove();
      frame = null;
      button.setAttribute("aria-expanded", "false");
      return;
    }
    frame = document.createElement("iframe");
    frame.src = launcher.dataset.src;
    frame.title = button.textContent.trim();
    launcher.insertBefore(frame, button);
    button.setAttribute("aria-expanded", "true");
  });
})();
