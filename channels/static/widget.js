/*
 * Lapor Bawaslu web chat widget.
 *
 * Embed with one tag (see docs/_parts/webchat.md):
 *   <script src="https://SERVER/webhooks/webchat/static/widget.js" defer></script>
 * The widget loads its stylesheet and the socket.io client from the same folder,
 * speaks Rasa's socket.io protocol (session_request / session_confirm /
 * user_uttered / bot_uttered), keeps the session id and the conversation in
 * localStorage, and uploads screenshots to /webhooks/webchat/upload.
 * Bot and user text is always inserted as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__laporWebChatLoaded) {
    return;
  }
  window.__laporWebChatLoaded = true;

  var data = script.dataset || {};
  var scriptUrl = new URL(script.src, document.baseURI);
  var staticBase = new URL(".", scriptUrl).href;
  var server = (data.server || scriptUrl.origin).replace(/\/+$/, "");
  var config = {
    server: server,
    socketPath: data.socketPath || "/webhooks/webchat/socket.io/",
    uploadUrl: data.uploadUrl || server + "/webhooks/webchat/upload",
    title: data.title || "Lapor Bawaslu",
    subtitle: data.subtitle || "Asisten pelaporan konten pemilu",
    open: data.open === "true",
    inline: data.inline === "true",
    target: data.target || "",
    initialPayload: data.initialPayload || "",
    storageKey: data.storageKey || "lapor-webchat:" + server,
    maxHistory: parseInt(data.maxHistory || "200", 10) || 200
  };

  var TEXT = {
    launcher: "Lapor pelanggaran konten pemilu",
    close: "Tutup obrolan",
    inputLabel: "Ketik pesan Anda",
    placeholder: "Tulis pesan…",
    send: "Kirim",
    attach: "Lampirkan tangkapan layar",
    connecting: "Menghubungkan…",
    offline: "Koneksi terputus. Mencoba menyambung kembali…",
    uploading: "Mengirim berkas…",
    uploadFailed: "Berkas belum terkirim. Periksa koneksi Anda lalu coba lagi, ya.",
    empty: "Halo! Sapa kami atau tulis laporan Anda untuk memulai.",
    fileSent: "Lampiran: ",
    botImage: "Gambar dari asisten",
    messagesLabel: "Percakapan"
  };

  // ---------------------------------------------------------------- storage

  function loadState() {
    try {
      var raw = window.localStorage.getItem(config.storageKey);
      var state = raw ? JSON.parse(raw) : null;
      if (state && typeof state === "object" && Array.isArray(state.messages)) {
        return state;
      }
    } catch (e) {
      /* storage blocked or corrupt: start afresh */
    }
    return { sessionId: null, messages: [] };
  }

  function saveState() {
    try {
      state.messages = state.messages.slice(-config.maxHistory);
      window.localStorage.setItem(config.storageKey, JSON.stringify(state));
    } catch (e) {
      /* storage full or blocked: the conversation still works */
    }
  }

  var state = loadState();

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function safeUrl(value, allowData) {
    try {
      var url = new URL(String(value), document.baseURI);
      if (url.protocol === "http:" || url.protocol === "https:" || url.protocol === "blob:") {
        return url.href;
      }
      if (allowData && url.protocol === "data:" && /^data:image\//i.test(url.href)) {
        return url.href;
      }
    } catch (e) {
      /* not a URL */
    }
    return null;
  }

  /* Text with *bold* and http(s) links, built from text nodes only. */
  function appendRichText(parent, text) {
    var pattern = /(\*[^*\n]+\*)|(https?:\/\/[^\s<>"]+)/g;
    var last = 0;
    var match;
    text = String(text);
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) {
        parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      }
      if (match[1]) {
        parent.appendChild(el("strong", null, match[1].slice(1, -1)));
      } else {
        var href = safeUrl(match[2], false);
        if (href) {
          var link = el("a", null, match[2]);
          link.href = href;
          link.target = "_blank";
          link.rel = "noopener noreferrer nofollow";
          parent.appendChild(link);
        } else {
          parent.appendChild(document.createTextNode(match[2]));
        }
      }
      last = pattern.lastIndex;
    }
    if (last < text.length) {
      parent.appendChild(document.createTextNode(text.slice(last)));
    }
  }

  // ---------------------------------------------------------------- UI

  function loadStylesheet() {
    if (document.querySelector("link[data-lapor-webchat]")) {
      return;
    }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = staticBase + "widget.css";
    link.setAttribute("data-lapor-webchat", "");
    document.head.appendChild(link);
  }

  var ui = {};

  function paperclipIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.8");
    path.setAttribute("stroke-linecap", "round");
    svg.appendChild(path);
    return svg;
  }

  function buildUi() {
    var root = el("div", "lwc-root" + (config.inline ? " lwc-inline" : ""));
    root.id = "lapor-webchat";

    var launcher = el("button", "lwc-launcher", TEXT.launcher);
    launcher.type = "button";
    launcher.setAttribute("aria-controls", "lwc-panel");
    launcher.setAttribute("aria-expanded", "false");

    var panel = el("section", "lwc-panel");
    panel.id = "lwc-panel";
    panel.setAttribute("aria-label", config.title);
    panel.hidden = true;

    var header = el("header", "lwc-header");
    var titles = el("div", "lwc-titles");
    titles.appendChild(el("h2", "lwc-title", config.title));
    titles.appendChild(el("p", "lwc-subtitle", config.subtitle));
    header.appendChild(titles);
    var close = el("button", "lwc-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", TEXT.close);
    if (!config.inline) {
      header.appendChild(close);
    }

    var log = el("div", "lwc-messages");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions");
    log.setAttribute("aria-label", TEXT.messagesLabel);
    log.tabIndex = 0;

    var status = el("p", "lwc-status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");

    var form = el("form", "lwc-form");
    form.setAttribute("autocomplete", "off");
    var label = el("label", "lwc-visually-hidden", TEXT.inputLabel);
    label.htmlFor = "lwc-input";
    var input = el("input", "lwc-input");
    input.id = "lwc-input";
    input.type = "text";
    input.name = "message";
    input.maxLength = 2000;
    input.placeholder = TEXT.placeholder;
    var file = el("input", "lwc-file");
    file.id = "lwc-file";
    file.type = "file";
    file.accept = "image/png,image/jpeg,image/webp,application/pdf";
    file.tabIndex = -1;
    file.setAttribute("aria-hidden", "true");
    var attach = el("button", "lwc-attach");
    attach.type = "button";
    attach.setAttribute("aria-label", TEXT.attach);
    attach.title = TEXT.attach;
    attach.appendChild(paperclipIcon());
    var send = el("button", "lwc-send", TEXT.send);
    send.type = "submit";
    form.appendChild(label);
    form.appendChild(attach);
    form.appendChild(file);
    form.appendChild(input);
    form.appendChild(send);

    panel.appendChild(header);
    panel.appendChild(log);
    panel.appendChild(status);
    panel.appendChild(form);
    root.appendChild(launcher);
    root.appendChild(panel);
    var target = config.target ? document.getElementById(config.target) : null;
    (target || document.body).appendChild(root);

    ui = { root: root, launcher: launcher, panel: panel, close: close, log: log,
           status: status, form: form, input: input, file: file, attach: attach, send: send };

    launcher.addEventListener("click", function () { setOpen(ui.panel.hidden); });
    close.addEventListener("click", function () { setOpen(false); ui.launcher.focus(); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !config.inline) {
        setOpen(false);
        ui.launcher.focus();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) {
        return;
      }
      input.value = "";
      sendMessage(text, text);
    });
    attach.addEventListener("click", function () { file.click(); });
    file.addEventListener("change", function () {
      if (file.files && file.files[0]) {
        uploadFile(file.files[0]);
      }
      file.value = "";
    });
  }

  function setOpen(open) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    ui.root.classList.toggle("lwc-open", open);
    if (open) {
      scrollToEnd();
      ui.input.focus();
    }
  }

  function setStatus(text, isError) {
    ui.status.textContent = text || "";
    ui.status.classList.toggle("lwc-error", !!isError);
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function renderEmptyHint() {
    var existing = ui.log.querySelector(".lwc-empty");
    if (state.messages.length === 0 && !existing) {
      ui.log.appendChild(el("p", "lwc-empty", TEXT.empty));
    } else if (state.messages.length > 0 && existing) {
      existing.parentNode.removeChild(existing);
    }
  }

  /* Only the newest message's buttons can be pressed; older ones are kept, disabled. */
  function disableOldButtons() {
    var groups = ui.log.querySelectorAll(".lwc-buttons");
    for (var i = 0; i < groups.length; i++) {
      var buttons = groups[i].querySelectorAll("button");
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].disabled = true;
      }
    }
  }

  function renderMessage(message) {
    renderEmptyHint();
    var item = el("div", "lwc-msg lwc-" + (message.from === "user" ? "user" : "bot"));
    item.setAttribute("data-from", message.from === "user" ? "user" : "bot");
    var bubble = el("div", "lwc-bubble");
    if (message.from === "user") {
      bubble.appendChild(el("span", "lwc-visually-hidden", "Anda: "));
    } else {
      bubble.appendChild(el("span", "lwc-visually-hidden", "Asisten: "));
    }
    if (message.text) {
      var paragraph = el("p", "lwc-text");
      appendRichText(paragraph, message.text);
      bubble.appendChild(paragraph);
    }
    if (message.image) {
      var src = safeUrl(message.image, true);
      if (src) {
        var image = el("img", "lwc-image");
        image.src = src;
        image.alt = message.alt || TEXT.botImage;
        image.loading = "lazy";
        bubble.appendChild(image);
      }
    }
    item.appendChild(bubble);
    if (message.buttons && message.buttons.length) {
      disableOldButtons();
      var group = el("div", "lwc-buttons");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Pilihan jawaban");
      message.buttons.forEach(function (choice) {
        var button = el("button", "lwc-button", choice.title);
        button.type = "button";
        button.disabled = !!message.used;
        button.addEventListener("click", function () {
          message.used = true;
          saveState();
          var all = group.querySelectorAll("button");
          for (var k = 0; k < all.length; k++) {
            all[k].disabled = true;
          }
          sendMessage(choice.payload || choice.title, choice.title);
          ui.input.focus();
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    ui.log.appendChild(item);
    scrollToEnd();
  }

  function addMessage(message) {
    state.messages.push(message);
    saveState();
    renderMessage(message);
  }

  function renderHistory() {
    ui.log.textContent = "";
    var lastWithButtons = -1;
    state.messages.forEach(function (message, index) {
      if (message.buttons && message.buttons.length) {
        lastWithButtons = index;
      }
    });
    state.messages.forEach(function (message, index) {
      if (message.buttons && message.buttons.length && index !== lastWithButtons) {
        message.used = true;
      }
      renderMessage(message);
    });
    renderEmptyHint();
  }

  // ---------------------------------------------------------------- protocol

  var socket = null;
  var confirmed = false;
  var pending = [];

  /* A bot_uttered payload (Rasa's socket.io output) as stored messages. */
  function botMessages(payload) {
    var out = [];
    if (!payload || typeof payload !== "object") {
      return out;
    }
    var choices = payload.quick_replies || payload.buttons || [];
    var buttons = [];
    if (Array.isArray(choices)) {
      choices.forEach(function (choice) {
        if (choice && (choice.title || choice.payload)) {
          buttons.push({ title: String(choice.title || choice.payload),
                         payload: String(choice.payload || choice.title) });
        }
      });
    }
    var image = null;
    var attachment = payload.attachment;
    if (attachment && attachment.type === "image" && attachment.payload) {
      image = attachment.payload.src || attachment.payload.url || null;
    } else if (typeof payload.image === "string") {
      image = payload.image;
    }
    var text = typeof payload.text === "string" ? payload.text : "";
    if (text || image || buttons.length) {
      out.push({ from: "bot", text: text, image: image, buttons: buttons });
    }
    return out;
  }

  function emitMessage(text) {
    socket.emit("user_uttered", { message: text, session_id: state.sessionId });
  }

  function sendMessage(payload, shownText) {
    addMessage({ from: "user", text: shownText });
    if (socket && confirmed) {
      emitMessage(payload);
    } else {
      pending.push(payload);
    }
  }

  function removeMessage(message, node) {
    var index = state.messages.indexOf(message);
    if (index >= 0) {
      state.messages.splice(index, 1);
      saveState();
    }
    if (node && node.parentNode) {
      node.parentNode.removeChild(node);
    }
    renderEmptyHint();
  }

  /* The file's bubble is shown first, so it always precedes the bot's answer;
     it is taken back when the server refuses the file. */
  function uploadFile(file) {
    if (!confirmed || !state.sessionId) {
      setStatus(TEXT.connecting, false);
      return;
    }
    var body = new FormData();
    body.append("session_id", state.sessionId);
    body.append("file", file, file.name);
    /* Text already typed goes with the file as its caption, as on WhatsApp. */
    var caption = ui.input.value.trim();
    if (caption) {
      body.append("caption", caption);
      ui.input.value = "";
    }
    setStatus(TEXT.uploading, false);
    ui.attach.disabled = true;
    var message = { from: "user", text: TEXT.fileSent + file.name + (caption ? "\n" + caption : "") };
    addMessage(message);
    var node = ui.log.lastElementChild;
    fetch(config.uploadUrl, { method: "POST", body: body, credentials: "omit" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return { ok: response.ok, json: json };
        });
      })
      .then(function (result) {
        if (result.ok) {
          setStatus("", false);
        } else {
          removeMessage(message, node);
          setStatus((result.json && result.json.error) || TEXT.uploadFailed, true);
        }
      })
      .catch(function () {
        removeMessage(message, node);
        setStatus(TEXT.uploadFailed, true);
      })
      .then(function () {
        ui.attach.disabled = false;
      });
  }

  function connect() {
    if (typeof window.io !== "function") {
      setStatus(TEXT.offline, true);
      return;
    }
    setStatus(TEXT.connecting, false);
    socket = window.io(config.server, { path: config.socketPath });
    socket.on("connect", function () {
      confirmed = false;
      socket.emit("session_request", { session_id: state.sessionId });
    });
    socket.on("session_confirm", function (sessionId) {
      var id = typeof sessionId === "string" ? sessionId
        : (sessionId && sessionId.session_id) || null;
      if (!id) {
        return;
      }
      if (state.sessionId && state.sessionId !== id) {
        state.messages = [];
        renderHistory();
      }
      state.sessionId = id;
      saveState();
      confirmed = true;
      setStatus("", false);
      ui.root.setAttribute("data-session", "ready");
      if (config.initialPayload && state.messages.length === 0 && pending.length === 0) {
        emitMessage(config.initialPayload);
      }
      while (pending.length) {
        emitMessage(pending.shift());
      }
    });
    socket.on("bot_uttered", function (payload) {
      botMessages(payload).forEach(addMessage);
    });
    socket.on("disconnect", function () {
      confirmed = false;
      ui.root.removeAttribute("data-session");
      setStatus(TEXT.offline, true);
    });
    socket.on("connect_error", function () {
      setStatus(TEXT.offline, true);
    });
  }

  function loadSocketIo(callback) {
    if (typeof window.io === "function") {
      callback();
      return;
    }
    var tag = document.createElement("script");
    tag.src = staticBase + "socket.io.min.js";
    tag.async = true;
    tag.onload = callback;
    tag.onerror = function () { setStatus(TEXT.offline, true); };
    document.head.appendChild(tag);
  }

  function start() {
    loadStylesheet();
    buildUi();
    renderHistory();
    if (config.open || config.inline) {
      setOpen(true);
    }
    loadSocketIo(connect);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
