// "Copy" next to a value shown once (a new API token, an invitation or password-reset link): shown only where the browser can write to the clipboard;
// without it (or without script) the teacher selects the text and copies it by hand.
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector(".copy-status");
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(
        function () { if (status) status.textContent = "Copied."; },
        function () {
          input.select();
          if (status) status.textContent = "Could not copy: select the text and copy it yourself.";
        }
      );
    });
  });
})();
