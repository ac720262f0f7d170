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

    renderLadder(doc);
    renderComponents(doc);

    var ops = $("operations");
    Status.clear(ops);
    (doc.activeOperations || []).forEach(function (op) {
      ops.appendChild(Status.el("li", {"class": op.blockedBy ? "op blocked" : "op", text: Status.operationText(op)}));
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

  // The six tiers, each ✓ / in progress / ✗ with its one-line detail.
  function renderLadder(doc) {
    var ladder = $("tiers");
    Status.clear(ladder);
    Status.TIERS.forEach(function (t) {
      var tier = doc.tiers[t.key];
      var st = Status.tierState(tier);
      ladder.appendChild(Status.el("li", {"class": "tier tier-" + st.cls, "data-tier": t.key, "data-state": st.word}, [
        Status.el("span", {"class": "mark", "aria-hidden": "true", text: st.mark}),
        Status.el("span", {"class": "name", text: t.label}),
        Status.el("span", {"class": "word", text: st.word}),
        Status.el("span", {"class": "detail", text: tier.message || tier.status})
      ]));
    });
  }

  // Components grouped by their tier, as short lines (readable on a phone).
  function renderComponents(doc) {
    var box = $("components");
    Status.clear(box);
    ["platform", "core", "login", "background"].forEach(function (tier) {
      var comps = (doc.components || []).filter(function (c) { return c.tier === tier; });
      if (!comps.length) { return; }
      var ul = Status.el("ul", {"class": "comps"});
      comps.forEach(function (c) {
        var st = Status.tierState(c);
        ul.appendChild(Status.el("li", {"class": "comp tier-" + st.cls}, [
          Status.el("span", {"class": "mark", "aria-hidden": "true", text: st.mark}),
          Status.el("span", {"class": "name", text: c.name}),
          Status.el("span", {"class": "detail", text: c.ready ? "" : (c.message || c.status)})
        ]));
      });
      box.appendChild(Status.el("div", {"class": "group", "data-tier": tier}, [
        Status.el("h3", {text: tier.toUpperCase()}), ul
      ]));
    });
    if (!box.firstChild) { box.appendChild(Status.el("p", {"class": "muted", text: "No components reported yet."})); }
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
