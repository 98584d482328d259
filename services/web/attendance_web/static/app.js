// Ask before destructive actions (buttons carry data-confirm; no inline script, CSP forbids it).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // Forms with data-too-large: say so before a long upload the server would refuse (and lose) as a whole.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-too-large");
    if (!message || event.defaultPrevented) { return; }
    var limit = Number(form.getAttribute("data-max-upload-mb")) * 1048576;
    var total = 0, largest = null;
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        total += file.size;
        if (!largest || file.size > largest.size) { largest = file; }
      });
    });
    // One photo alone over the limit: sending "fewer at a time" would not help, a smaller copy would.
    var onePhoto = form.getAttribute("data-too-large-photo");
    var single = !!(onePhoto && largest && largest.size > limit);
    var alert = form.querySelector("[data-too-large-alert]");
    if (!alert) {
      alert = document.createElement("p");
      alert.className = "error";
      alert.setAttribute("role", "alert");
      alert.setAttribute("data-too-large-alert", "");
      form.insertBefore(alert, form.firstChild);
    }
    if (limit > 0 && total > limit) {
      event.preventDefault();
      alert.textContent = single ? largest.name + " " + onePhoto :
        message + " These files are " + (total / 1048576).toFixed(0) + " MB.";
    } else {
      alert.textContent = "";
    }
  });
})();
