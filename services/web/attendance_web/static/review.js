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

  function refresh(focusId) {
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
        var target = focusId && document.getElementById(focusId);
        if (target) { target.focus({ preventScroll: true }); }
        watch();
      });
  }

  function focusAfter(form) {
    // The element to return to: the student row or the face item the form belongs to.
    var holder = form.closest("[id^=student-], [id^=face-]");
    if (holder) { return holder.id; }
    var confirmItem = form.closest("[id^=confirm-]");
    return confirmItem ? "face-" + confirmItem.id.slice("confirm-".length) : null;
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
    var focusId = focusAfter(form);
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
          return refresh(focusId);
        }
        // Errors come as {"error": {"message"}} (CSRF, 400, 404) or {"ok": false, "message"} (refused).
        var message = (body.error && body.error.message) || body.message || SAVE_FAILED;
        announce(message, true);
        enable();
        // A refusal because the session changed meanwhile (409): show the page as it is now.
        if (result.status === 409) { return refresh(focusId); }
      })
      .catch(function () {
        announce("The connection was lost; nothing was changed. Please try again.", true);
        enable();
      });
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
