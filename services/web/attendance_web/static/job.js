// Poll the job's JSON until it is done; then show the link to the result (no page reloads).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  function render(data) {
    var state = document.getElementById("job-state");
    state.textContent = data.state;
    state.className = "badge " + data.state;
    document.getElementById("job-progress").value = data.progress;
    document.getElementById("job-message").textContent = data.message || "";
    document.getElementById("job-error").textContent = data.error || "";
    var link = document.getElementById("job-result");
    if (data.done && data.result_url) { link.href = data.result_url; link.hidden = false; }
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
