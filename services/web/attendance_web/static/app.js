// Ask before destructive actions (buttons carry data-confirm; no inline script, CSP forbids it).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
