/* The overview page: headline, login link, phase, active operations, top blockers. */
"use strict";

(function () {
  var $ = function (id) { return document.getElementById(id); };
  var POLL_MS = 3000;
  var TOP = 3;

  function render(doc, headers) {
    var state = doc.rollup.state;
    var card = $("headline-card");
    card.className = "card state-" + state;
    $("headline").textContent = Status.HEADLINES[state] || state;
    $("message").textContent = doc.rollup.message;
    $("next-action").textContent = "Next: " + doc.rollup.nextAction;

    var url = doc.urls && doc.urls.loginUrl ? Status.safeUrl(doc.urls.loginUrl) : null;
    var ready = Status.LOGIN_STATES.indexOf(state) >= 0;
    $("login-link").hidden = !(ready && url);
    if (ready && url) { $("login-url").href = url; $("login-url").textContent = url; }

    var bp = doc.bootstrap;
    var since = bp && bp.updatedAt ? (Date.parse(doc.timestamp) - Date.parse(bp.updatedAt)) / 1000 : NaN;
    $("phase").textContent = bp && bp.phase
      ? bp.phase + (bp.step ? " — " + bp.step : "") + (bp.state ? " (" + bp.state + ")" : "") +
        (isNaN(since) ? "" : ", last update " + Status.duration(since) + " before this status")
      : "No bootstrap phase published.";

    var ops = $("operations");
    Status.clear(ops);
    (doc.activeOperations || []).forEach(function (op) {
      var text = op.component + ": " + op.operation.replace(/_/g, " ") + (op.image ? " " + op.image : "");
      if (op.estimatedSize) { text += " (" + op.estimatedSize + ")"; }
      if (op.elapsedSeconds !== null && op.elapsedSeconds !== undefined) { text += " — " + Status.duration(op.elapsedSeconds) + " so far"; }
      ops.appendChild(Status.el("li", {text: text}));
    });
    if (!ops.firstChild) { ops.appendChild(Status.el("li", {"class": "muted", text: "None."})); }

    var list = $("blockers");
    Status.clear(list);
    (doc.topBlockers || []).slice(0, TOP).forEach(function (b) { list.appendChild(Status.blockerItem(b, false)); });
    if (!list.firstChild) { list.appendChild(Status.el("li", {"class": "muted", text: "No blockers."})); }

    var age = parseFloat(headers.get("X-Status-Age-Seconds"));
    $("freshness").textContent = Status.freshnessText(isNaN(age) ? null : age,
      headers.get("X-Status-Stale") === "true", headers.get("X-Status-Last-Error"));
  }

  function waiting() {
    $("headline").textContent = "Collecting status…";
    $("freshness").textContent = "The service is collecting the first status; this page updates itself.";
  }

  function failed(err) {
    $("freshness").textContent = "Cannot reach the status service (" + err + "); retrying.";
  }

  Status.poll("/api/status", POLL_MS, render, waiting, failed);
})();
