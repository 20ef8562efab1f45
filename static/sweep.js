// Live progress of a "check all" sweep on the tenants page: polls /tenants/sweep while it runs,
// then reloads the page once so the table shows the new statuses.
(function () {
  "use strict";
  var box = document.querySelector("[data-sweep-progress]");
  if (!box) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-sweep-text]");
  var sawRunning = box.getAttribute("data-running") === "true";
  function show(p) {
    box.hidden = !p.running && !sawRunning;
    if (bar) { bar.max = Math.max(p.total, 1); bar.value = p.done; }
    if (text) {
      text.textContent = p.running
        ? "Checking " + p.done + " of " + p.total + " tenants: " + p.verified + " verified, " + p.problems + " with problems."
        : "Last check of all tenants: " + p.done + " checked, " + p.verified + " verified, " + p.problems + " with problems.";
    }
  }
  function poll() {
    fetch("/tenants/sweep", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { return; }
        show(p);
        if (p.running) { sawRunning = true; setTimeout(poll, 1000); }
        else if (sawRunning && box.getAttribute("data-running") === "true") { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
