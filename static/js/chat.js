// The customer's side of a live chat (chat/templates/chat/_body.html, chat/consumers.py).
//
// Nothing typed is lost: a message waits in sessionStorage under its own key until the
// server acknowledges it stored, and is sent again (same key, stored once) after any
// reconnect or page reload. On every (re)connect the page says hello with the last
// message id it shows and gets what it missed; a message is shown once, by its id.
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root) return;
  var wire = window.ChatWire;
  var format = wire.format;
  var data = root.dataset;
  var log = root.querySelector(".chat-log");
  var status = root.querySelector(".chat-status");
  var typingLine = root.querySelector(".chat-typing");
  var errorLine = root.querySelector(".chat-error");
  var form = root.querySelector(".chat-compose");
  var text = root.querySelector("#chat-text");
  var fileInput = root.querySelector(".chat-attach input");
  var pendingKey = "chat-pending:" + data.chat;

  var socket = null;
  var lastId = 0;
  var theirReadUpTo = 0;
  var ended = false;
  var typingTimer = null;
  var lastTypingSent = 0;

  // Kept in memory when the browser refuses storage (a frame inside another site, the
  // widget's, may get none): then a reload loses what was never acknowledged.
  var unstored = null;

  function pending() {
    try {
      return JSON.parse(sessionStorage.getItem(pendingKey) || "[]");
    } catch (_e) {
      return unstored || [];
    }
  }

  function savePending(list) {
    try {
      sessionStorage.setItem(pendingKey, JSON.stringify(list));
    } catch (_e) {
      unstored = list;
    }
  }

  function showError(message) {
    errorLine.textContent = message || "";
    errorLine.hidden = !message;
  }

  function bubble(attrs) {
    return wire.line(attrs.from, attrs.from === "customer" ? data.tYou : attrs.author);
  }

  function markState(item) {
    var id = Number(item.dataset.id || 0);
    var state = item.querySelector(".chat-state");
    if (!item.classList.contains("chat-customer")) return;
    if (!id) state.textContent = data.tSending;
    else if (id <= theirReadUpTo) state.textContent = data.tRead;
    else state.textContent = data.tDelivered;
  }

  function showMessage(message) {
    if (log.querySelector('[data-id="' + message.id + '"]')) return;
    var item = message.client_key && log.querySelector('[data-key="' + message.client_key + '"]');
    if (!item) {
      item = bubble(message);
      log.appendChild(item);
    }
    item.dataset.id = message.id;
    wire.fill(item, message);
    markState(item);
    lastId = Math.max(lastId, message.id);
    item.scrollIntoView({ block: "end" });
    if (message.from === "agent") {
      typingLine.textContent = "";
      readUpTo();
    }
  }

  function showPending(entry) {
    if (log.querySelector('[data-key="' + entry.key + '"]')) return;
    var item = bubble({ from: "customer" });
    item.dataset.key = entry.key;
    item.querySelector(".chat-text").textContent = entry.body;
    markState(item);
    log.appendChild(item);
  }

  function readUpTo() {
    if (document.visibilityState !== "visible" || !lastId) return;
    send({ type: "read", up_to: lastId });
  }

  function showState(state) {
    ended = state.state === "ended";
    if (state.state === "queued") {
      var line = format(data.tQueued, { position: state.position });
      if (state.minutes) line += " " + format(data.tWait, { minutes: state.minutes });
      status.textContent = line;
    } else if (state.state === "active") {
      status.dataset.agent = state.agent;
      status.textContent = format(data.tJoined, { agent: state.agent });
    } else {
      status.textContent = data.tEnded;
      form.hidden = true;
      var rate = root.querySelector(".chat-rate");
      if (rate) rate.hidden = !state.can_rate;
    }
    if (state.agent_read_id) {
      theirReadUpTo = Math.max(theirReadUpTo, state.agent_read_id);
      log.querySelectorAll(".chat-customer").forEach(markState);
    }
  }

  function send(message) {
    return Boolean(socket) && socket.send(message);
  }

  function flushPending() {
    pending().forEach(function (entry) {
      send({ type: "send", client_key: entry.key, body: entry.body });
    });
  }

  function onMessage(message) {
    switch (message.type) {
      case "state":
        showState(message);
        break;
      case "message":
        showMessage(message.message);
        break;
      case "ack":
        savePending(
          pending().filter(function (entry) {
            return entry.key !== message.client_key;
          })
        );
        var item = log.querySelector('[data-key="' + message.client_key + '"]');
        if (item && !item.dataset.id) {
          item.dataset.id = message.id;
          lastId = Math.max(lastId, message.id);
          markState(item);
        }
        break;
      case "typing":
        typingLine.textContent = format(data.tTyping, { agent: status.dataset.agent || "" });
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () {
          typingLine.textContent = "";
        }, 4000);
        break;
      case "read":
        if (message.side === "agent") {
          theirReadUpTo = Math.max(theirReadUpTo, message.up_to);
          log.querySelectorAll(".chat-customer").forEach(markState);
        }
        break;
      case "error":
        showError(message.message);
        break;
    }
  }

  function connect() {
    socket = wire.connect(data.socket, {
      open: function () {
        root.classList.remove("chat-offline");
        showError("");
        send({ type: "hello", after: lastId });
        flushPending();
      },
      message: onMessage,
      refused: function () {
        form.hidden = true; // the error said why
      },
      stop: function () {
        return ended;
      },
      lost: function () {
        root.classList.add("chat-offline");
        showError(data.tOffline);
      },
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = text.value.trim();
    if (!body) return;
    var entry = { key: wire.newKey(), body: body };
    savePending(pending().concat([entry]));
    showPending(entry);
    text.value = "";
    send({ type: "send", client_key: entry.key, body: body });
  });

  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  text.addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTypingSent > 2000) {
      lastTypingSent = now;
      send({ type: "typing" });
    }
  });

  root.querySelector(".chat-end").addEventListener("click", function () {
    if (window.confirm(data.tConfirmEnd)) send({ type: "end" });
  });

  fileInput.addEventListener("change", function () {
    if (!fileInput.files.length) return;
    var body = new FormData();
    Array.prototype.forEach.call(fileInput.files, function (file) {
      body.append("attachments", file);
    });
    fetch(data.files, {
      method: "POST",
      body: body,
      headers: data.csrf ? { "X-CSRFToken": data.csrf } : {}, // the widget's ticket is in its address
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json();
      })
      .then(function (answer) {
        showError(answer.error || "");
      })
      .catch(function () {
        showError(data.tOffline);
      });
    fileInput.value = "";
  });

  document.addEventListener("visibilitychange", readUpTo);

  pending().forEach(showPending);
  connect();
})();
