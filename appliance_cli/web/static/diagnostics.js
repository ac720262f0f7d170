/* The diagnostics page: tiers, components, every blocker with evidence, Flux, events. */
"use strict";

(function () {
  var $ = function (id) { return document.getElementById(id); };
  var POLL_MS = 5000;

  function cond(c) { return c ? (c.status + (c.reason ? " " + c.reason : "")) : ""; }

  function render(data) {
    var doc = data.status;
    $("headline").textContent = "Diagnostics — " + (Status.HEADLINES[doc.rollup.state] || doc.rollup.state);
    var f = data.freshness || {};
    $("freshness").textContent = Status.freshnessText(f.ageSeconds, f.stale, f.lastError);

    var tiers = doc.tiers;
    Status.table($("tiers"), ["Tier", "Ready", "Status", "Message"],
      ["platform", "core", "bootstrap", "login", "background", "fullHealth"].map(function (t) {
        var x = tiers[t];
        return {cls: x.ready ? "ok" : "bad", cells: [t, x.ready ? "yes" : "no", x.status, x.message]};
      }));

    Status.table($("components"), ["Component", "Tier", "Ready", "Status", "Message"],
      (doc.components || []).map(function (c) {
        return {cls: c.ready ? "ok" : "bad", cells: [c.name, c.tier, c.ready ? "yes" : "no", c.status, c.message]};
      }));

    var list = $("blockers");
    Status.clear(list);
    (doc.topBlockers || []).forEach(function (b) { list.appendChild(Status.blockerItem(b, true)); });
    if (!list.firstChild) { list.appendChild(Status.el("li", {"class": "muted", text: "No blockers."})); }

    var flux = data.flux || {};
    Status.table($("kustomizations"), ["Kustomization", "Ready", "Message", "Applied revision", "Source revision", "Stale"],
      (flux.kustomizations || []).map(function (k) {
        return {cls: k.stale ? "bad stale" : (k.ready.status === "True" ? "ok" : "bad"),
                cells: [k.name, cond(k.ready), k.ready.message, k.lastAppliedRevision, k.sourceRevision,
                        k.stale ? "STALE: not at the source's revision" : ""]};
      }));
    Status.table($("helmreleases"), ["HelmRelease", "Ready", "Message", "Attempted revision"],
      (flux.helmReleases || []).map(function (h) {
        return {cls: h.ready.status === "True" ? "ok" : "bad",
                cells: [h.namespace + "/" + h.name, cond(h.ready), h.ready.message, h.lastAttemptedRevision]};
      }));
    Status.table($("sources"), ["GitRepository", "URL", "Ref", "Artifact revision", "Ready"],
      (flux.gitRepositories || []).map(function (g) {
        return {cls: g.ready.status === "True" ? "ok" : "bad",
                cells: [g.name, g.url, g.ref, g.artifactRevision, cond(g.ready) + " " + g.ready.message]};
      }));
    Status.table($("events"), ["When", "Type", "Object", "Reason", "Message"],
      (doc.recentEvents || []).map(function (e) {
        return {cls: e.type === "Warning" ? "bad" : "",
                cells: [e.timestamp, e.type, [e.kind, e.namespace, e.name].filter(Boolean).join(" "), e.reason,
                        e.message + (e.count > 1 ? " (x" + e.count + ")" : "")]};
      }));
    Status.table($("history"), ["When", "What", "From", "To", "Result", "Details"],
      (data.releaseHistory || []).map(function (h) {
        return {cls: h.result === "succeeded" ? "ok" : "bad",
                cells: [h.at, h.kind, h.fromVersion || "", h.toVersion || "", h.result, h.message || ""]};
      }));
    $("collection").textContent = JSON.stringify(data.collection, null, 2);
  }

  Status.poll("/api/diagnostics", POLL_MS, render,
    function () { $("freshness").textContent = "The service is collecting the first status…"; },
    function (err) { $("freshness").textContent = "Cannot reach the status service (" + err + "); retrying."; });
})();
