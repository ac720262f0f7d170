/* Shared helpers for the status pages: DOM building from text nodes only, polling, formatting. */
"use strict";

var Status = (function () {
  var HEADLINES = {
    installing: "Installing",
    ready_to_log_in: "Ready to log in",
    ready_with_background_issues: "Ready with background issues",
    fully_healthy: "Fully healthy",
    failed_action_required: "Action required"
  };
  var LOGIN_STATES = ["ready_to_log_in", "ready_with_background_issues", "fully_healthy"];
  // The readiness ladder, first customer milestone LOGIN (status document "tiers" keys).
  var TIERS = [
    {key: "platform", label: "PLATFORM"}, {key: "core", label: "CORE"},
    {key: "bootstrap", label: "BOOTSTRAP"}, {key: "login", label: "LOGIN"},
    {key: "background", label: "BACKGROUND"}, {key: "fullHealth", label: "FULL"}
  ];
  // A tier is ready (✓), failing (✗: degraded or failed) or on its way (in progress).
  function tierState(t) {
    if (t.ready) { return {cls: "ok", mark: "✓", word: "ready"}; }
    if (t.status === "failed" || t.status === "degraded") { return {cls: "bad", mark: "✗", word: "blocked"}; }
    return {cls: "wait", mark: "…", word: "in progress"};
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") { node.textContent = attrs[k]; }
        else if (k === "class") { node.className = attrs[k]; }
        else { node.setAttribute(k, attrs[k]); }
      });
    }
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) { return ""; }
    seconds = Math.max(0, Math.round(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60, h = Math.floor(m / 60);
    if (h) { return h + "h" + String(m % 60).padStart(2, "0") + "m"; }
    return m ? m + "m" + String(s).padStart(2, "0") + "s" : s + "s";
  }

  function safeUrl(url) {
    try {
      var u = new URL(url, window.location.href);
      return (u.protocol === "http:" || u.protocol === "https:") ? u.href : null;
    } catch (e) { return null; }
  }

  function freshnessText(age, stale, lastError) {
    var txt = age === null ? "" : "Updated " + duration(age) + " ago.";
    if (lastError) { txt += " The last collection failed (" + lastError + "); showing the last good state."; }
    else if (stale) { txt += " This state is old: the service has not collected for a while."; }
    return txt;
  }

  function table(node, headers, rows) {
    clear(node);
    var thead = el("thead", null, [el("tr", null, headers.map(function (h) { return el("th", {text: h}); }))]);
    var tbody = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr", r.cls ? {"class": r.cls} : null);
      r.cells.forEach(function (c) { tr.appendChild(el("td", {text: c === null || c === undefined ? "" : String(c)})); });
      tbody.appendChild(tr);
    });
    node.appendChild(thead);
    node.appendChild(tbody);
  }

  // One active operation as a sentence: held by a blocker, or its progress (time so far,
  // image size, time left at the node's measured download rate).
  function operationText(op) {
    var text = op.component + ": " + op.operation.replace(/_/g, " ") + (op.image ? " " + op.image : "");
    if (op.blockedBy) { return text + " — blocked by " + op.blockedBy + " (not progressing)"; }
    var facts = [];
    if (op.estimatedSize) { facts.push(op.estimatedSize); }
    if (op.estimatedSecondsLeft) {
      facts.push("about " + duration(op.estimatedSecondsLeft) + " left at the node's download rate");
    } else if (op.estimatedTotalSeconds !== null && op.estimatedTotalSeconds !== undefined) {
      facts.push("longer than the " + duration(op.estimatedTotalSeconds) + " the node's download rate predicts");
    }
    if (facts.length) { text += " (" + facts.join(", ") + ")"; }
    if (op.elapsedSeconds !== null && op.elapsedSeconds !== undefined) { text += " — " + duration(op.elapsedSeconds) + " so far"; }
    return text;
  }

  function blockerItem(b, withEvidence) {
    var li = el("li", {"class": "blocker sev-" + b.severity}, [
      el("strong", {text: b.reason}),
      el("div", {"class": "meta", text: b.component + " · " + b.code + (b.loginBlocking ? " · blocks login" : " · background")}),
      el("div", {"class": "next", text: "Next: " + b.nextAction}),
      el("div", {"class": "repair", text: !b.repair ? "" : b.repair.available ? "appliance repair can fix this: " + b.repair.command : "Not repaired automatically: " + b.repair.summary})
    ]);
    if (withEvidence && b.evidence && b.evidence.length) {
      var ul = el("ul", {"class": "evidence"});
      b.evidence.forEach(function (e) {
        var where = [e.kind, e.namespace, e.name].filter(Boolean).join(" ");
        ul.appendChild(el("li", {text: where + ": " + (e.reason ? e.reason + ": " : "") + e.message}));
      });
      li.appendChild(ul);
    }
    return li;
  }

  // Poll a JSON endpoint every `interval` ms; 401 goes back to the login form. An answer with
  // an ETag is asked for again with If-None-Match: 304 means "what you have is current" (the
  // body is not sent again; the freshness headers are).
  function poll(url, interval, onData, onWaiting, onError) {
    var etag = null, last = null;
    function tick() {
      var headers = {"Accept": "application/json"};
      if (etag !== null && last !== null) { headers["If-None-Match"] = etag; }
      fetch(url, {credentials: "same-origin", cache: "no-store", headers: headers})
        .then(function (resp) {
          if (resp.status === 401) { window.location.assign("/login"); return null; }
          if (resp.status === 503) { onWaiting(); return null; }
          if (resp.status === 304 && last !== null) { onData(last, resp.headers); return null; }
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.json().then(function (data) {
            etag = resp.headers.get("ETag");
            last = data;
            onData(data, resp.headers);
          });
        })
        .catch(function (err) { onError(String(err)); })
        .then(function () { window.setTimeout(tick, interval); });
    }
    tick();
  }

  return {
    HEADLINES: HEADLINES, LOGIN_STATES: LOGIN_STATES, TIERS: TIERS, tierState: tierState, operationText: operationText, el: el, clear: clear, duration: duration,
    safeUrl: safeUrl, freshnessText: freshnessText, table: table, blockerItem: blockerItem, poll: poll
  };
})();
