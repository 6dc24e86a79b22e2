// The station page's script: live updates over server-sent events, and
// the nurse's two actions (justify, close case). No build step; every
// piece of HTML it inserts was drawn (and escaped) by the server.
"use strict";
(function () {
  var body = document.body;
  var conn = document.getElementById("conn");
  var msg = document.getElementById("msg");
  var station = body.dataset.station;

  function show(text) {
    msg.textContent = text;
    msg.hidden = !text;
    if (text) { setTimeout(function () { msg.hidden = true; }, 8000); }
  }

  function follow(url, handlers) {
    if (!window.EventSource) { return; }
    var es = new EventSource(url);
    es.onopen = function () { conn.hidden = true; };
    es.onerror = function () {
      conn.hidden = false;
      // The browser reconnects by itself after a dropped stream, but not
      // after a refusal (too many screens, a restart's moment): try anew.
      if (es.readyState === EventSource.CLOSED) {
        setTimeout(function () { follow(url, handlers); }, 5000);
      }
    };
    Object.keys(handlers).forEach(function (name) { es.addEventListener(name, handlers[name]); });
  }

  function post(url, form) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-UDI-Page": "1", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form || {}).toString()
    }).then(function (res) {
      return res.text().then(function (text) {
        if (!res.ok) { throw new Error(text || res.statusText); }
        return { status: res.status, text: text };
      });
    });
  }

  if (station) {
    var live = document.getElementById("live");
    follow("/events?station=" + encodeURIComponent(station), {
      station: function (e) { live.innerHTML = e.data; }
    });
    document.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-action]");
      if (!b || b.disabled) { return; }
      if (b.dataset.action === "justify") {
        b.disabled = true;
        post("/station/" + encodeURIComponent(b.dataset.station) + "/justify",
          { item: b.dataset.item, reason: b.dataset.reason })
          .then(function (r) { live.innerHTML = r.text; })
          .catch(function (err) { b.disabled = false; show(err.message); });
      } else if (b.dataset.action === "close") {
        // Two taps: a touch screen is touched by accident.
        if (!b.classList.contains("armed")) {
          b.classList.add("armed");
          b.dataset.label = b.textContent;
          b.textContent = b.dataset.confirm;
          setTimeout(function () {
            if (b.isConnected && b.classList.contains("armed")) {
              b.classList.remove("armed");
              b.textContent = b.dataset.label;
            }
          }, 5000);
          return;
        }
        b.disabled = true;
        post("/station/" + encodeURIComponent(b.dataset.station) + "/close")
          .then(function (r) { b.textContent = r.text; })
          .catch(function (err) { b.disabled = false; show(err.message); });
      }
    });
  }

  if (body.dataset.warehouse) {
    var wh = document.getElementById("wh");
    var timer = null;
    var reload = function () {
      timer = null;
      var u = new URL(location.href);
      u.searchParams.set("part", "1");
      fetch(u, { credentials: "same-origin" }).then(function (res) {
        if (res.ok) { return res.text().then(function (t) { wh.innerHTML = t; }); }
      }).catch(function () {});
    };
    follow("/events", {
      movement: function () { if (!timer) { timer = setTimeout(reload, 3000); } }
    });
  }
})();
