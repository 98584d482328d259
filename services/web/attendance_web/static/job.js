// Poll the job's JSON until it is done; an attendance job then moves on to its attendance list.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  function render(data) {
    var state = document.getElementById("job-state");
    state.textContent = data.state_words || data.state;
    state.className = "badge " + (data.badge || data.state);
    document.getElementById("job-progress").value = data.progress;
    document.getElementById("job-message").textContent = data.message || "";
    document.getElementById("job-error").textContent = data.error || "";
    // A message shown above (e.g. "saved as Period 3 (2)") stays readable: then only the link is offered.
    var told = document.querySelector(".flashes .flash");
    if (!told && data.done && data.state === "succeeded" && data.result_url && box.getAttribute("data-forward") === "1") {
      setTimeout(function () { window.location.assign(data.result_url); }, 800);
    }
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { setTimeout(poll, 3000); return; }
        render(data);
        if (!data.done) { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
