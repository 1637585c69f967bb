// What the customer's chat (chat.js) and the agents' console (console.js) share: the
// socket that reconnects by itself, a message's line in a chat log, client keys, and
// the %(name)s formats of the words the templates hand over.
(function () {
  "use strict";

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, name) {
      return values[name] === undefined ? "" : String(values[name]);
    });
  }

  // The sender's own id for a message: sent again with it, the server stores it once.
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }

  // A line of a chat log: who, the text, and its state (Sending…, Delivered, Read).
  function line(from, who) {
    var item = document.createElement("li");
    item.className = "chat-line chat-" + from;
    var whoSpan = document.createElement("span");
    whoSpan.className = "chat-who";
    whoSpan.textContent = who;
    var body = document.createElement("div");
    body.className = "chat-text";
    var state = document.createElement("span");
    state.className = "chat-state muted small";
    item.append(whoSpan, body, state);
    return item;
  }

  function fill(item, message) {
    var body = item.querySelector(".chat-text");
    // Sanitized by the server (tickets.rendering), as on the ticket page.
    body.innerHTML = message.html;
    (message.files || []).forEach(function (file) {
      var link = document.createElement("a");
      link.href = file.url;
      link.textContent = file.name;
      link.className = "chat-file";
      body.appendChild(link);
    });
  }

  // A socket to `path` on this host that reconnects after 1, 2, 4 … 10 s, until the
  // server refuses it (a 44xx close: its error message said why) or `stop()` says so.
  // `on.open` runs on every (re)connect: the place to say hello and send what waits.
  function connect(path, on) {
    var socket = null;
    var retryDelay = 1000;
    var api = {
      send: function (message) {
        if (socket && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify(message));
          return true;
        }
        return false;
      },
    };
    function open() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + path);
      socket.onopen = function () {
        retryDelay = 1000;
        on.open();
      };
      socket.onmessage = function (event) {
        on.message(JSON.parse(event.data));
      };
      socket.onclose = function (event) {
        if (event.code >= 4400 && event.code < 4500) {
          if (on.refused) on.refused(event.code);
          return;
        }
        if (on.stop && on.stop()) return;
        on.lost();
        setTimeout(open, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 10000);
      };
    }
    open();
    return api;
  }

  window.ChatWire = { format: format, newKey: newKey, line: line, fill: fill, connect: connect };
})();
