// Roster import pages: one click per Confirm, and live progress of the portrait checks (no reloads).
(function () {
  "use strict";

  // A second click would be harmless (the server confirms an import once), but it looks broken.
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("button[type=submit]");
    if (!button) { return; }
    window.setTimeout(function () { button.disabled = true; button.setAttribute("aria-busy", "true"); }, 0);
  });

  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");

  function setText(id, value) { document.getElementById(id).textContent = String(value); }

  function renderRefusals(refusals) {
    var list = document.getElementById("refusals");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!refusals.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "None so far.";
      list.appendChild(none);
      return;
    }
    refusals.forEach(function (r) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = r.student_url;
      link.textContent = r.student;
      var reason = document.createElement("span");
      reason.className = "reason";
      reason.textContent = r.reason;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" (" + r.student_number + "), " + r.filename + ": "));
      item.appendChild(reason);
      list.appendChild(item);
    });
  }

  function render(data) {
    setText("count-pending", data.pending);
    setText("count-accepted", data.accepted);
    setText("count-rejected", data.rejected);
    var bar = document.getElementById("import-bar");
    bar.max = data.total || 1;
    bar.value = data.total - data.pending;
    bar.textContent = (data.total - data.pending) + " of " + data.total;
    if (data.done) {
      setText("import-state", data.total ? "All portraits are checked." : "This import had no portraits to check.");
    }
    renderRefusals(data.refusals);
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 4000); return; }
        render(data);
        if (!data.done) { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 4000); });
  }

  if (box.getAttribute("data-done") !== "true") { poll(); }
})();
