// While a portrait is being checked, refresh the list of portraits in place (the page's own HTML, fetched
// again), so the verdict appears without a reload; stop once none is pending, or after five minutes.
(function () {
  "use strict";
  var list = document.querySelector("ul.photos");
  var live = document.getElementById("portraits-live");
  if (!list || !window.fetch || !window.DOMParser) { return; }
  var deadline = Date.now() + 5 * 60 * 1000;
  function pending(root) { return root.querySelectorAll("li.photo.pending").length; }
  function poll() {
    if (!pending(list) || Date.now() > deadline) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("ul.photos");
          if (fresh) {
            var before = pending(list);
            list.innerHTML = fresh.innerHTML;
            if (live && pending(list) < before) { live.textContent = "Portrait checked: see its verdict below."; }
          }
        }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
