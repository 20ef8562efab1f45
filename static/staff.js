// Staff pages: "Copy link" buttons (data-copy names the input to copy). No inline script anywhere.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-copy"));
  if (!input) return;
  var done = function () {
    var note = document.querySelector('[data-copied-for="' + input.id + '"]');
    if (note) note.hidden = false;
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
  } else {
    input.select();
    if (document.execCommand("copy")) done();
  }
});
