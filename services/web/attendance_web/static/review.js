// Review page, progressively enhanced: the correction forms are sent in the background and the page
// content is refreshed in place (no reload, focus and scroll kept); while recognition runs, the
// page follows /sessions/<id>/status.json and refreshes itself when it is done.
// Every form still works without JavaScript (POST, then redirect back).
(function () {
  "use strict";
  var root = document.getElementById("review");
  var liveRegion = document.getElementById("review-live");
  if (!root || !window.fetch || !window.DOMParser) { return; }

  var SAVE_FAILED = "Could not save: please reload the page and sign in again.";

  function announce(text, bad) {
    if (!liveRegion) { return; }
    liveRegion.textContent = text || "";
    liveRegion.className = "live" + (bad ? " live--error" : " live--ok");
  }

  function refresh(pick) {
    return fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("review");
        if (!fresh) { return; }
        var openDetails = {};
        Array.prototype.forEach.call(root.querySelectorAll("details[open]"), function (d) {
          var key = d.closest("[id]");
          if (key) { openDetails[key.id + "|" + d.className] = true; }
        });
        var y = window.scrollY;
        root.innerHTML = fresh.innerHTML;
        root.setAttribute("data-working", fresh.getAttribute("data-working") || "0");
        Array.prototype.forEach.call(root.querySelectorAll("details"), function (d) {
          var key = d.closest("[id]");
          if (key && openDetails[key.id + "|" + d.className]) { d.open = true; }
        });
        window.scrollTo(0, y);
        var target = pick && pick();
        if (target) { focusVisibly(target); }
        watch();
      });
  }

  // --- where focus goes after a correction (WCAG 2.4.3): where a keyboard user expects it, and in view ----

  var CONTROLS = "button:not([disabled]), select:not([disabled]), input:not([type=hidden]):not([disabled]), summary, a[href]";

  function firstControl(scope) { return scope ? scope.querySelector(CONTROLS) : null; }

  // Focus without the browser's jump; scroll only when the element would otherwise be out of view.
  function focusVisibly(target) {
    // Inside a closed disclosure it could not take focus: open it (a summary's own disclosure stays as it is).
    var inner = target.tagName === "SUMMARY" ? target.parentNode : target;
    for (var d = inner.parentNode.closest("details"); d; d = d.parentNode.closest("details")) { d.open = true; }
    target.focus({ preventScroll: true });
    function intoView() {  // an element right at the screen's edge is moved in too: its focus ring shows whole
      var box = target.getBoundingClientRect();
      if (box.top < 8 || box.bottom > window.innerHeight - 8) { target.scrollIntoView({ block: "center" }); }
    }
    intoView();
    // Once more after the page has settled (times.js rewrites the refreshed times, which can move the layout).
    if (window.requestAnimationFrame) { window.requestAnimationFrame(intoView); }
  }

  // Nothing left where the teacher was: the message that says what was just done (just above the page's content).
  function fallback() {
    if (liveRegion && liveRegion.textContent) {
      liveRegion.setAttribute("tabindex", "-1");
      return liveRegion;
    }
    return document.querySelector("h1");
  }

  // The same form's same button after the refresh: the form by its action and class, the button by name and value.
  function locate(form, submitter) {
    var holder = form.closest("[id]");
    var holderId = holder && holder !== root ? holder.id : null;
    var action = form.getAttribute("action");
    var formClass = form.className;
    var name = submitter ? submitter.name : "";
    var value = submitter ? submitter.value : "";
    return function () {
      var scope = holderId ? document.getElementById(holderId) : null;
      if (!scope) { return null; }
      var forms = Array.prototype.filter.call(scope.querySelectorAll("form"), function (f) {
        return f.getAttribute("action") === action && f.className === formClass;
      });
      for (var i = 0; i < forms.length; i++) {
        var buttons = forms[i].querySelectorAll("button");
        for (var j = 0; j < buttons.length; j++) {
          if (!name || (buttons[j].name === name && buttons[j].value === value)) { return buttons[j]; }
        }
      }
      return null;
    };
  }

  // The "Yes, it is …" button of the first face still to confirm among `ids` (the list's order before the change).
  function nextToConfirm(ids, from) {
    var order = ids.slice(from + 1).concat(ids.slice(0, Math.max(from, 0)));
    for (var i = 0; i < order.length; i++) {
      var item = document.getElementById(order[i]);
      if (item) { return firstControl(item); }
    }
    return firstControl(root.querySelector("#confirm .confirm-item"));  // one that was not there before
  }

  // The element to focus once the page shows the change (`ok`) or is shown again as it is now (not saved).
  function focusAfter(form, submitter) {
    var same = locate(form, submitter);
    var row = form.closest("[id^=student-]");
    if (row) {
      // A mark: the button pressed, now pressed (aria-pressed), not the row.
      var rowId = row.id;
      return function () { return same() || firstControl(document.getElementById(rowId)) || fallback(); };
    }
    var confirmItem = form.closest("[id^=confirm-]");
    var faceItem = form.closest("[id^=face-]");
    var faceId = confirmItem ? confirmItem.id.slice("confirm-".length) : faceItem ? faceItem.id.slice("face-".length) : null;
    if (!faceId) { return function () { return same() || fallback(); }; }
    var pending = !!confirmItem || faceItem.classList.contains("face-item--confirm");
    if (pending && !form.classList.contains("assign")) {
      // Confirmed or rejected a face waiting for confirmation: on to the next one (in the list at the top).
      var ids = Array.prototype.map.call(root.querySelectorAll("#confirm .confirm-item"), function (li) { return li.id; });
      var at = ids.indexOf("confirm-" + faceId);
      return function (ok) { return (!ok && same()) || nextToConfirm(ids, at) || fallback(); };
    }
    // Any other face action: the same face's entry, else the next face's, else the message.
    var faceIds = Array.prototype.map.call(root.querySelectorAll(".face-item"), function (li) { return li.id; });
    var from = faceIds.indexOf("face-" + faceId);
    return function (ok) {
      if (!ok && same()) { return same(); }
      var order = faceIds.slice(from).concat(faceIds.slice(0, Math.max(from, 0)).reverse());
      for (var i = 0; i < order.length; i++) {
        var control = firstControl(document.getElementById(order[i]));
        if (control) { return control; }
      }
      return fallback();
    };
  }

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("js-review")) { return; }
    event.preventDefault();
    var data = new FormData(form);
    var submitter = event.submitter;
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var buttons = form.querySelectorAll("button");
    function enable() { Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; }); }
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    var pick = focusAfter(form, submitter || form.querySelector("button"));
    fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "application/json" }
    })
      .then(function (r) {
        // Signed out, the answer is the login page (fetch follows the redirect): not JSON, so not saved.
        return r.json().then(
          function (body) { return { ok: r.ok && body.ok !== false, status: r.status, body: body }; },
          function () { return { ok: false, status: r.status, body: null }; }
        );
      })
      .then(function (result) {
        var body = result.body || {};
        if (result.ok) {
          announce(body.message);
          return refresh(function () { return pick(true); });
        }
        // Errors come as {"error": {"message"}} (CSRF, 400, 404) or {"ok": false, "message"} (refused).
        var message = (body.error && body.error.message) || body.message || SAVE_FAILED;
        announce(message, true);
        enable();
        // A refusal because the session changed meanwhile (409): show the page as it is now.
        if (result.status === 409) { return refresh(function () { return pick(false); }); }
        refocus();
      })
      .catch(function () {
        announce("The connection was lost; nothing was changed. Please try again.", true);
        enable();
        refocus();
      });
    // Not saved: back to the button pressed if focus was lost while it was disabled.
    function refocus() {
      var active = document.activeElement;
      if (submitter && (!active || active === document.body)) { submitter.focus({ preventScroll: true }); }
    }
  });

  // Selecting a face on the photo opens its entry in the list below (keyboard and mouse alike).
  root.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.face");
    if (!link) { return; }
    var item = document.getElementById((link.getAttribute("href") || "").slice(1));
    if (!item) { return; }
    event.preventDefault();
    var details = item.closest("details");
    if (details) { details.open = true; }
    item.scrollIntoView({ block: "center" });
    // An unknown face: straight to "Who is this?"; otherwise to the face's entry.
    var select = /face-item--(unknown|rejected)/.test(item.className) && item.querySelector("select");
    (select || item).focus({ preventScroll: true });
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", "#" + item.id); }
  });

  // Recognition still running: show each photo's stage, then refresh when it is done.
  var polling = false;
  function watch() {
    if (polling || root.getAttribute("data-working") !== "1") { return; }
    polling = true;
    var url = root.getAttribute("data-status-url");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { setTimeout(poll, 4000); return; }
          (data.photos || []).forEach(function (p) {
            var badge = root.querySelector("[data-photo-status='" + p.id + "']");
            if (badge) { badge.textContent = p.status_text; badge.className = "badge " + p.status; }
          });
          if (data.done) {
            polling = false;
            announce("Recognition finished: " + data.present + " present" +
              (data.to_confirm ? ", " + data.to_confirm + " to confirm" : "") + ".");
            refresh(null);
          } else {
            setTimeout(poll, 1500);
          }
        })
        .catch(function () { setTimeout(poll, 4000); });
    }
    poll();
  }
  watch();
})();
