// Times in the teacher's own time zone. The server writes every moment in UTC, readable without
// script: <time datetime="2026-12-07T07:50:00Z">2026-12-07 07:50 UTC</time>. This rewrites the text to
// the browser's local time ("2026-12-07 02:50" in New York) and keeps the UTC text in the title.
// Only full moments (a time and a "Z" or offset) are rewritten: a date alone (a session's day) is
// never shifted. Content that other scripts put in the page later (the review page's refresh) is
// rewritten as it arrives.
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat || !Intl.DateTimeFormat.prototype.formatToParts) { return; }
  var MOMENT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
  var format;
  try {
    format = new Intl.DateTimeFormat("en-CA", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    });
  } catch (e) { return; }

  function local(date) {
    var p = {};
    format.formatToParts(date).forEach(function (part) { p[part.type] = part.value; });
    var hour = p.hour === "24" ? "00" : p.hour;
    return p.year + "-" + p.month + "-" + p.day + " " + hour + ":" + p.minute;
  }

  function rewrite(el) {
    if (el.hasAttribute("data-local")) { return; }
    var iso = el.getAttribute("datetime") || "";
    if (!MOMENT.test(iso)) { return; }
    var date = new Date(iso);
    if (isNaN(date.getTime())) { return; }
    var utcText = el.textContent.trim();
    el.setAttribute("data-local", "1");
    if (utcText && !el.title) { el.title = utcText; }
    el.textContent = local(date);
  }

  function rewriteAll(root) {
    if (root.nodeType !== 1) { return; }
    if (root.matches && root.matches("time[datetime]")) { rewrite(root); }
    Array.prototype.forEach.call(root.querySelectorAll("time[datetime]"), rewrite);
  }

  // A date field the server filled with today by its own clock (UTC) gets the teacher's today instead.
  Array.prototype.forEach.call(document.querySelectorAll("input[type=date][data-local-today]"), function (input) {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    input.value = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  });

  rewriteAll(document.body);
  if (window.MutationObserver) {
    new MutationObserver(function (records) {
      records.forEach(function (r) { Array.prototype.forEach.call(r.addedNodes, rewriteAll); });
    }).observe(document.body, { childList: true, subtree: true });
  }
})();
