// The agent's chat console (chat/templates/chat/console.html, chat/consumers.py).
//
// One socket per console. On every (re)connect it says hello with the last message id it
// shows of each chat and gets its state back from the server: availability, the team,
// the queue, offers out to this agent and each of their chats with what it missed. So a
// reload or a dropped connection loses nothing and shows nothing twice (by id). Replies
// wait under their own key until acknowledged, and are sent again after a reconnect.
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;
  var wire = window.ChatWire;
  var format = wire.format;
  var data = root.dataset;
  var chats = root.querySelector(".console-chats");
  var offers = root.querySelector(".console-offers");
  var queue = root.querySelector(".console-queue");
  var team = root.querySelector(".console-team");
  var availability = root.querySelector("#availability");
  var connection = root.querySelector(".console-connection");
  var template = document.getElementById("chat-panel");
  var ZERO_UUID = "00000000-0000-0000-0000-000000000000";

  var socket = null;
  var heartbeat = null;
  var lastIds = {}; // chat key -> last message id shown
  var unsent = {}; // client key -> message, until acknowledged
  var offerTimers = {};

  function send(message) {
    return Boolean(socket) && socket.send(message);
  }

  function chime() {
    // A short tone for a new offer (no audio file to ship); browsers may keep it silent
    // until the page has been clicked once.
    try {
      var context = new (window.AudioContext || window.webkitAudioContext)();
      var tone = context.createOscillator();
      var gain = context.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.1;
      tone.connect(gain).connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + 0.25);
    } catch (_e) {
      /* no audio here: the offer is still shown */
    }
  }

  // -- chats ----------------------------------------------------------------------------------

  function panel(key) {
    return chats.querySelector('[data-chat="' + key + '"]');
  }

  function openPanel(state) {
    var existing = panel(state.chat);
    if (existing) return existing;
    var node = template.content.firstElementChild.cloneNode(true);
    node.dataset.chat = state.chat;
    var link = node.querySelector(".chat-ticket");
    link.href = data.ticket.replace("/0/", "/" + state.number + "/");
    link.textContent = format(data.tOpenTicket, { number: state.number });
    node.querySelector(".chat-panel-subject").textContent = state.subject;
    var context = node.querySelector(".chat-panel-context");
    fetch(data.context.replace(ZERO_UUID, uuidOf(state.chat)), { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        // Our own page fragment (tickets/_customer_card.html), escaped by the template.
        context.innerHTML = html;
      });
    wirePanel(node, state);
    chats.appendChild(node);
    // A chat just taken (or handed over): its conversation so far.
    send({ type: "history", chat: state.chat, after: lastIds[state.chat] || 0 });
    return node;
  }

  function uuidOf(hex) {
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function wirePanel(node, state) {
    var form = node.querySelector(".chat-compose");
    var text = form.querySelector("textarea");
    var asNote = form.querySelector(".chat-as-note");
    var lastTyping = 0;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = text.value.trim();
      if (!body) return;
      if (asNote.checked) {
        send({ type: "note", chat: state.chat, body: body });
      } else {
        var key = wire.newKey();
        unsent[key] = { type: "send", chat: state.chat, client_key: key, body: body };
        send(unsent[key]);
      }
      text.value = "";
    });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    text.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 2000) {
        lastTyping = now;
        send({ type: "typing", chat: state.chat });
      }
    });
    form.querySelector(".chat-macro").addEventListener("change", function (event) {
      var id = event.target.value;
      event.target.value = "";
      if (!id) return;
      var url = data.macro.replace("/0/macros/1/", "/" + state.number + "/macros/" + id + "/");
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : "";
        })
        .then(function (body) {
          text.value = text.value ? text.value + "\n" + body : body;
          text.focus();
        });
    });
    form.querySelector(".chat-transfer").addEventListener("change", function (event) {
      var to = event.target.value;
      event.target.value = "";
      if (to) send({ type: "transfer", chat: state.chat, to: Number(to) });
    });
    form.querySelector(".chat-end").addEventListener("click", function () {
      if (window.confirm(data.tConfirmEnd)) send({ type: "end", chat: state.chat });
    });
  }

  function showState(state) {
    if (state.state === "queued") return;
    var node = openPanel(state);
    node.dataset.readUpTo = state.customer_read_id || 0;
    if (state.state === "ended") {
      node.classList.add("chat-ended");
      node.querySelector(".chat-compose").hidden = true;
      node.querySelector(".chat-typing").textContent = data.tEnded;
    }
    markRead(node);
  }

  function showMessage(key, message) {
    var node = panel(key);
    if (!node) return;
    var log = node.querySelector(".chat-log");
    if (log.querySelector('[data-id="' + message.id + '"]')) return;
    var item = wire.line(
      message.from,
      message.from === "note" ? data.tNote + " · " + message.author : message.author
    );
    item.dataset.id = message.id;
    wire.fill(item, message);
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    lastIds[key] = Math.max(lastIds[key] || 0, message.id);
    if (message.from === "customer") {
      node.querySelector(".chat-typing").textContent = "";
      if (document.visibilityState === "visible") {
        send({ type: "read", chat: key, up_to: message.id });
      }
    }
    markRead(node);
  }

  function markRead(node) {
    var upTo = Number(node.dataset.readUpTo || 0);
    node.querySelectorAll(".chat-agent").forEach(function (item) {
      item.querySelector(".chat-state").textContent = Number(item.dataset.id) <= upTo ? data.tRead : "";
    });
  }

  // -- offers, queue, team --------------------------------------------------------------------

  function button(label, className, onClick) {
    var node = document.createElement("button");
    node.type = "button";
    node.className = className;
    node.textContent = label;
    node.addEventListener("click", onClick);
    return node;
  }

  function showOffer(offer) {
    if (offers.querySelector('[data-chat="' + offer.chat + '"]')) return;
    var item = document.createElement("li");
    item.className = "console-offer";
    item.dataset.chat = offer.chat;
    var title = document.createElement("p");
    title.innerHTML = "";
    var strong = document.createElement("strong");
    strong.textContent = data.tOffer + ": " + offer.customer;
    title.appendChild(strong);
    var subject = document.createElement("p");
    subject.textContent = offer.subject;
    var left = document.createElement("p");
    left.className = "muted small";
    var accept = button(data.tAccept, "accept", function () {
      send({ type: "accept", chat: offer.chat });
    });
    var decline = button(data.tDecline, "secondary", function () {
      send({ type: "decline", chat: offer.chat });
      removeOffer(offer.chat);
    });
    item.append(title, subject, left, accept, decline);
    offers.appendChild(item);
    var expires = Date.parse(offer.expires_at);
    function tick() {
      var seconds = Math.max(0, Math.round((expires - Date.now()) / 1000));
      left.textContent = format(data.tSeconds, { seconds: seconds });
      if (!seconds) removeOffer(offer.chat);
    }
    tick();
    offerTimers[offer.chat] = setInterval(tick, 1000);
    chime();
  }

  function removeOffer(key) {
    var item = offers.querySelector('[data-chat="' + key + '"]');
    if (item) item.remove();
    clearInterval(offerTimers[key]);
    delete offerTimers[key];
  }

  function showQueue(message) {
    queue.textContent = "";
    if (!message.waiting.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = data.tNobody;
      queue.appendChild(none);
    }
    message.waiting.forEach(function (waiting) {
      var item = document.createElement("li");
      item.textContent = waiting.customer + " — " + waiting.subject + " ";
      var take = button(data.tTake, "small secondary", function () {
        send({ type: "pick", chat: waiting.chat });
      });
      item.appendChild(take);
      queue.appendChild(item);
    });
  }

  function showTeam(message) {
    team.textContent = "";
    message.agents.forEach(function (agent) {
      var item = document.createElement("li");
      item.className = "presence presence-" + agent.availability;
      item.textContent = agent.name;
      var option = availability.querySelector('option[value="' + agent.availability + '"]');
      item.title = option ? option.textContent : agent.availability;
      team.appendChild(item);
    });
  }

  // -- the socket -----------------------------------------------------------------------------

  function onMessage(message) {
    switch (message.type) {
      case "me":
        if (wantedAvailability && wantedAvailability !== message.availability) {
          send({ type: "availability", availability: wantedAvailability });
          wantedAvailability = null;
        } else {
          availability.value = message.availability;
        }
        break;
      case "team":
        showTeam(message);
        break;
      case "queue":
        showQueue(message);
        break;
      case "offer":
        showOffer(message);
        break;
      case "offer_gone":
        removeOffer(message.chat);
        break;
      case "state":
        removeOffer(message.chat);
        showState(message);
        break;
      case "message":
        showMessage(message.chat, message.message);
        break;
      case "ack":
        delete unsent[message.client_key];
        break;
      case "typing":
        var node = panel(message.chat);
        if (node) node.querySelector(".chat-typing").textContent = data.tTyping;
        break;
      case "read":
        var read = panel(message.chat);
        if (read && message.side === "customer") {
          read.dataset.readUpTo = message.up_to;
          markRead(read);
        }
        break;
      case "gone":
        var gone = panel(message.chat);
        if (gone) gone.remove();
        break;
      case "error":
        var shown = chats.querySelector(".chat-panel:last-child .chat-error");
        connection.textContent = message.message;
        if (shown) {
          shown.textContent = message.message;
          shown.hidden = false;
        }
        break;
    }
  }

  function connect() {
    socket = wire.connect(data.socket, {
      open: function () {
        connection.textContent = "";
        send({ type: "hello", after: lastIds });
        Object.keys(unsent).forEach(function (key) {
          send(unsent[key]);
        });
        clearInterval(heartbeat);
        heartbeat = setInterval(function () {
          send({ type: "heartbeat" });
        }, Number(data.heartbeat) * 1000);
      },
      message: onMessage,
      refused: function () {
        clearInterval(heartbeat);
      },
      lost: function () {
        clearInterval(heartbeat);
        connection.textContent = data.tReconnecting;
      },
    });
  }

  // Chosen before the socket opened (or while it reconnects): sent once it is open.
  var wantedAvailability = null;

  availability.addEventListener("change", function () {
    wantedAvailability = availability.value;
    if (send({ type: "availability", availability: wantedAvailability })) {
      wantedAvailability = null;
    }
  });

  connect();
})();
