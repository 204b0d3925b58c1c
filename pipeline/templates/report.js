// The report's behaviour: decisions, filters, search and the map. Data comes from the JSON
// block; text is only ever written with textContent.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var served = location.protocol === "http:" || location.protocol === "https:";
  var KEY = "themes-decisions:", DOWNLOADED = "themes-downloaded:", PAGE = "themes-page:";
  var STORAGE = KEY + data.run;
  var POLL_MS = 3000;   // served: how often a visible page asks the server for the current decisions
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var clusters = new Map(data.clusters.map(function (c) { return [c.id, c]; }));
  var codes = new Map(data.codes.map(function (c) { return [c.id, c]; }));
  var decisions = {};   // cluster id -> decision field, as in clusters.json
  var orphaned = data.orphaned;
  var local = [];       // static file: decisions made in this page, in store format

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function append(parent) {  // append(parent, node or text, ...)
    Array.prototype.slice.call(arguments, 1).forEach(function (child) {
      parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return parent;
  }
  function storage(action, key, value) {
    try {
      if (action === "get") { return window.localStorage.getItem(key); }
      window.localStorage.setItem(key, value);
    } catch (err) { return null; }  // storage refused (private mode): keep going in memory
    return null;
  }
  function say(text, isError) {  // text: a string, or a list of strings and nodes
    var box = $("#message");
    box.textContent = "";
    append.apply(null, [box].concat(text));
    box.className = "message" + (isError ? " error" : "");
  }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  // "2026-11-29T05:03:05.497Z" -> "29 Nov 2026, 05:03 UTC"
  function when(stamp) {
    var t = new Date(stamp || "");
    if (isNaN(t.getTime())) { return stamp || ""; }
    return t.getUTCDate() + " " + MONTHS[t.getUTCMonth()] + " " + t.getUTCFullYear() + ", " +
      two(t.getUTCHours()) + ":" + two(t.getUTCMinutes()) + " UTC";
  }
  // An analyst's words (a theme's name, a memo, who decided), isolated: a right-to-left
  // override left open in them cannot turn the text after them.
  function bdi(text) { return el("bdi", "", text); }
  function clusterLink(cid) {
    var link = el("a", "", "cluster " + cid);
    link.href = "#cluster-" + cid;
    return link;
  }

  // --- decisions ------------------------------------------------------------------------

  function baseDecisions() {
    var out = {};
    data.clusters.forEach(function (c) { if (c.decision) { out[c.id] = c.decision; } });
    return out;
  }

  function fieldOf(event) {
    return {status: event.status, code_id: event.code_id, name: event.name, definition: event.definition,
            memo: event.memo, merge_into: event.merge_into, carried: false, overlap: 1,
            from: event.cluster_key, author: event.author, timestamp: event.timestamp};
  }

  function deriveStatic() {
    decisions = baseDecisions();
    local.forEach(function (event) {
      if (event.status === "undecided") { delete decisions[event.cluster_id]; }
      else { decisions[event.cluster_id] = fieldOf(event); }
    });
  }

  function oneLine(text) { return (text || "").split(/\s+/).join(" ").trim(); }

  // Mirror pipeline.decisions.writable and name_problem, which `themes decisions import` and
  // the review server apply: half of an emoji (a lone surrogate) in any text, or a control
  // character in a name or an author (C0 but tab and line breaks, DEL, C1, U+FFFE/U+FFFF).
  var BROKEN_CHARACTER = /[\ud800-\udfff]/u;  // with the u flag only a lone half matches
  var NOT_IN_NAME = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]/;
  var BROKEN_TEXT = "holds a broken character (half of an emoji, or a byte that is not UTF-8 text); type or paste it again";
  function textProblem(text) { return BROKEN_CHARACTER.test(text) ? BROKEN_TEXT : null; }
  function nameProblem(text) {
    var control = NOT_IN_NAME.exec(text);
    return textProblem(text) || (control ? "holds a control character (U+" +
      ("000" + control[0].charCodeAt(0).toString(16).toUpperCase()).slice(-4) +
      "), which a project or document cannot hold; type it again" : null);
  }
  // Why the import would refuse this field's text, "(field): why", or null.
  function fieldProblem(field, text) {
    if (typeof text !== "string") { return null; }
    var problem = field === "name" || field === "author" ? nameProblem(text) : textProblem(text);
    return problem ? "(" + field + "): " + problem : null;
  }
  function firstProblem(fields, values) {
    for (var i = 0; i < fields.length; i += 1) {
      var problem = fieldProblem(fields[i], values[fields[i]]);
      if (problem) { return problem; }
    }
    return null;
  }
  // Events the import takes, and a line for each it would refuse (pages before this check
  // kept them, and one such event made the whole download unimportable).
  function importable(events, ofRun) {
    var left = [];
    var kept = events.filter(function (event) {
      var problem = event && firstProblem(["author", "name", "definition", "memo"], event);
      if (problem) { left.push("cluster " + event.cluster_id + (ofRun || "") + " " + problem); }
      return !problem;
    });
    return {events: kept, left: left};
  }

  // Mirrors pipeline.review.make_decision, for the static file.
  function buildEvent(cid, status, values) {
    var cluster = clusters.get(cid);
    var problem = firstProblem(Object.keys(values), values);
    if (problem) { throw new Error("Not kept: cluster " + cid + " " + problem); }
    var current = decisions[cid] || null;
    var codeId = values.code_id || null, name = null, definition = null, mergeInto = null, mergeIds = [];
    if (status === "undecided" && !current) { throw new Error("The cluster is undecided already."); }
    if (status === null) {
      if (!current) { throw new Error("Decide first (accept, reject, new theme or merge); a memo goes with a decision."); }
      status = current.status; codeId = current.code_id; name = current.name;
      definition = current.definition; mergeInto = current.merge_into;
      if (status === "merged" && mergeInto === null) { throw new Error("The cluster it was merged into is not in this run; decide again."); }
    }
    var memo = status === "undecided" ? null
      : values.memo === undefined || values.memo === null ? (current ? current.memo : null)
      : (values.memo.trim() || null);
    if (status === "accepted") {
      if (!codeId || !codes.has(codeId)) { throw new Error("Not a code of this taxonomy: " + codeId); }
    } else if (status === "new") {
      name = oneLine(values.name !== undefined ? values.name : name) || null;
      definition = ((values.definition !== undefined ? values.definition : definition) || "").trim() || null;
      if (!name) { throw new Error("A new theme needs a name."); }
      codeId = null;
    } else if (status === "merged") {
      mergeInto = values.merge_into !== undefined ? values.merge_into : mergeInto;
      if (mergeInto === null || mergeInto === cid || !clusters.has(mergeInto)) { throw new Error("Merge into another cluster of this run."); }
      mergeIds = clusters.get(mergeInto).members;
      codeId = null;
    } else {
      codeId = null;
    }
    return {cluster_key: data.run + ":" + cid, run: data.run, cluster_id: cid, status: status,
            code_id: codeId, name: name, definition: definition, merge_into: mergeInto, memo: memo,
            segment_ids: cluster.members, author: oneLine($("#author").value) || "analyst",
            timestamp: new Date().toISOString(), merge_segment_ids: mergeIds,
            replaces: current && current.carried ? current.from : null};
  }

  // --- served: the review server ------------------------------------------------------------

  var saves = 0;       // saves started; a state read before one must not replace its answer
  var lastShown = "";  // the state last applied, so a poll that finds nothing new changes nothing

  function applyState(state) {
    if (!$("#author").value && state.author) { $("#author").value = state.author; }
    var key = JSON.stringify([state.decisions, state.orphaned]);
    if (key === lastShown) { return false; }
    lastShown = key;
    decisions = {};
    Object.keys(state.decisions).forEach(function (key) { decisions[Number(key)] = state.decisions[key]; });
    orphaned = state.orphaned;
    return true;
  }

  var connected = null;
  // The banner at the top says whether the page can still save.
  function connection(ok) {
    if (ok === connected) { return; }
    connected = ok;
    var mode = $("#mode");
    mode.className = "mode " + (ok ? "served" : "stopped");
    mode.textContent = "";
    if (ok) {
      mode.textContent = "Connected to themes review: each decision is saved to the decision store at once";
      return;
    }
    append(mode, "The review server has stopped: nothing you do on this page is saved. To go on, run ",
           el("code", "", "themes review RUN_FOLDER"), " again and open the address it prints.");
  }

  function api(path, body) {
    var options = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"},
                                              body: JSON.stringify(body)};
    return fetch(path, options).catch(function () {  // no answer at all: the server is gone
      var err = new Error("the review server has stopped (see the note at the top of the page)");
      err.stopped = true;
      throw err;
    }).then(function (response) {
      return response.json().catch(function () { return {error: "the review server answered " + response.status}; })
        .then(function (payload) {
          if (!response.ok) { throw new Error(payload.error || ("the review server answered " + response.status)); }
          connection(true);
          return payload;
        });
    });
  }

  function saveServed(cid, body) {
    saves += 1;
    var focused = document.activeElement;
    $$("button.act").forEach(function (b) { b.disabled = true; });
    return api("api/decisions", body).then(function (state) {
      applyState(state);
      render();
      say(["Saved: cluster " + cid + " "].concat(describe(decisions[cid]), "."));
    }).catch(function (err) {
      if (err.stopped) { connection(false); }
      say("Not saved: " + err.message, true);
    }).then(function () {
      $$("button.act").forEach(function (b) { b.disabled = false; });
      refocus(focused);
    });
  }

  // Disabling the buttons while a decision is saved drops the keyboard focus: put it back, on
  // the card's first button where the focused one is gone (Undo hides itself).
  function refocus(focused) {
    if (document.activeElement !== document.body || !focused || !focused.closest) { return; }
    var card = focused.closest("article.card");
    var back = document.contains(focused) && !focused.hidden ? focused : card && $("button.act:not([hidden])", card);
    if (back) { back.focus(); }
  }

  var polling = false;
  // Another tab or the command line may have decided meanwhile: ask while the page is seen.
  function poll() {
    if (document.hidden || polling) { return; }
    polling = true;
    var before = saves;
    api("api/state").then(function (state) {
      if (saves === before && applyState(state)) { render(); }
    }).catch(function (err) {
      if (err.stopped) { connection(false); } else { say("Could not load the current decisions: " + err.message, true); }
    }).then(function () { polling = false; });
  }

  // --- deciding -------------------------------------------------------------------------------

  function decide(cid, status, values) {
    var refused = fieldProblem("author", $("#author").value);  // as the review server and the import refuse it
    if (refused) {
      say((served ? "Not saved: " : "Not kept: ") + refused, true);
      return Promise.resolve();
    }
    if (served) {
      var body = {cluster_id: cid, status: status, author: oneLine($("#author").value)};
      Object.keys(values).forEach(function (key) { body[key] = values[key]; });
      return saveServed(cid, body);
    }
    try {
      local.push(buildEvent(cid, status, values));
    } catch (err) {
      say(err.message, true);
      return Promise.resolve();
    }
    storage("set", STORAGE, JSON.stringify(local));
    storage("set", PAGE + data.run, location.pathname);  // which report.html file kept them
    deriveStatic();
    render();
    say(["Kept in this page: cluster " + cid + " "].concat(describe(decisions[cid]), ". Download the decisions when you are done."));
    return Promise.resolve();
  }

  // Clusters with a decision waiting to be downloaded (the file holds every event, in order).
  function pendingClusters() { return new Set(local.map(function (e) { return e.cluster_id; })).size; }

  function saveFile(run, events) {
    var file = {format: "themes-decisions", version: 1, run: run, exported: new Date().toISOString(),
                decisions: events};
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([JSON.stringify(file, null, 1)], {type: "application/json"}));
    link.download = "decisions-" + run + ".json";
    document.body.appendChild(link);
    link.click();
    link.remove();
    // Counted as kept, not as shown: the page leaves out its decisions the store replaced.
    var kept = [];
    try { kept = JSON.parse(storage("get", KEY + run) || "[]"); } catch (err) { kept = []; }
    storage("set", DOWNLOADED + run, String(Math.max(events.length, Array.isArray(kept) ? kept.length : 0)));
  }

  function download() {
    saveFile(data.run, local);
    say("Downloaded the decisions on " + plural(pendingClusters(), "cluster") +
        ": import them with `themes decisions import FILE`.");
  }

  // Decisions this browser kept for an earlier report of this run folder (the run made again
  // since, so its id changed) that were not downloaded after the last of them: offered here,
  // never dropped. Only those kept by this same report.html file: every page opened from disk
  // shares the storage, and another project's runs/default has the same name. Their file
  // imports on its own, carries forward by the clusters' segments, and never replaces a
  // decision the store has made since.
  function earlierDecisions() {
    var found = [];
    try {
      for (var i = 0; i < window.localStorage.length; i += 1) {
        var key = window.localStorage.key(i);
        if (!key || key.indexOf(KEY) !== 0 || key === STORAGE) { continue; }
        var run = key.slice(KEY.length);
        if (window.localStorage.getItem(PAGE + run) !== location.pathname) { continue; }
        var events = JSON.parse(window.localStorage.getItem(key) || "[]");
        var downloaded = Number(window.localStorage.getItem(DOWNLOADED + run) || 0);
        if (Array.isArray(events) && events.length > downloaded) {
          var checked = importable(events, " of the earlier run " + run);
          found.push({run: run, events: checked.events, left: checked.left});
        }
      }
    } catch (err) { return []; }  // storage refused, or an entry this page cannot read
    return found;
  }

  // -> a line for each decision left out, as the import would refuse it.
  function offerEarlier() {
    var found = earlierDecisions(), button = $("#download-earlier");
    var left = found.reduce(function (lines, e) { return lines.concat(e.left); }, []);
    var earlier = found.filter(function (e) { return e.events.length > 0; });
    var count = earlier.reduce(function (n, e) { return n + e.events.length; }, 0);
    button.hidden = earlier.length === 0;
    button.textContent = "Download " + plural(count, "decision") + " kept from an earlier run of this folder";
    button.onclick = function () {
      earlier.forEach(function (e) { saveFile(e.run, e.events); });
      say("Downloaded " + plural(earlier.length, "file") + " of decisions made before this run was made again: " +
          "import each with `themes decisions import FILE --run` and this run's folder; they carry to its clusters by their segments.");
      offerEarlier();
    };
    if (earlier.length) {
      say("This browser keeps " + plural(count, "decision") + " made in an earlier report of this run folder, " +
          "not downloaded: download them (button above) and import them.");
    }
    return left;
  }

  // --- memo drafts: typed, not saved yet ------------------------------------------------------

  function memoBox(cid) { return $('#cluster-' + cid + ' [data-field="memo"]'); }

  // The memo box's text when it differs from the memo saved with the decision, else null.
  function memoDraft(cid) {
    var box = memoBox(cid);
    if (!box || sameText(box.value, box.dataset.saved || "")) { return null; }
    return box.value;
  }
  // Memos compared as the store keeps them: one kind of line end, ends trimmed on both sides.
  function sameText(a, b) {
    function norm(text) { return text.replace(/\r\n?/g, "\n").trim(); }
    return norm(a) === norm(b);
  }

  function markMemo(cid) {
    var state = $("#cluster-" + cid + " [data-memo-state]");
    if (state) { state.textContent = memoDraft(cid) === null ? "" : "Not saved yet."; }
  }

  // Shows the saved memo, unless the analyst is writing another one: a draft is never wiped.
  function renderMemo(cid) {
    var box = memoBox(cid);
    if (!box) { return; }
    var draft = memoDraft(cid);
    var d = decisions[cid];
    box.dataset.saved = d && d.memo ? d.memo : "";
    if (draft === null) { box.value = box.dataset.saved; }
    markMemo(cid);
  }

  // A decision takes the memo being written along with it.
  function withMemo(cid, values) {
    var draft = memoDraft(cid);
    if (draft !== null) { values.memo = draft; }
    return values;
  }

  // --- showing decisions ------------------------------------------------------------------

  function codeName(id) { return codes.has(id) ? codes.get(id).label : id; }

  // -> the line's parts, text and nodes, starting with text.
  function headline(d) {
    if (d.status === "accepted") { return ["accepted: " + codeName(d.code_id)]; }
    if (d.status === "rejected") { return ["rejected: not a theme"]; }
    if (d.status === "new") { return ["new theme: \u201c", bdi(d.name), "\u201d"]; }
    return [d.merge_into === null ? "merged into a cluster that is not in this run" : "merged into cluster " + d.merge_into];
  }

  function describe(d) {
    if (!d) { return ["back to undecided"]; }
    return headline(d).concat(d.status === "accepted" && codes.has(d.code_id) ? [" (" + d.code_id + ")"] : []);
  }

  function carriedNote(d) {
    var note = el("span", "from", " \u00b7 carried from an earlier run (" + Math.round(d.overlap * 100) +
                  " % of the segments in this cluster or the one decided then are in both)");
    note.title = "from " + d.from;
    return note;
  }

  function renderDecisionLine(cid) {
    var box = $('[data-decision="' + cid + '"]');
    var d = decisions[cid];
    box.textContent = "";
    if (!d) { return; }
    var parts = headline(d);
    parts[0] = parts[0].replace(/^./, function (c) { return c.toUpperCase(); });
    box.appendChild(append.apply(null, [el("span")].concat(parts)));
    if (d.status === "accepted" && codes.has(d.code_id)) { append(box, " ", el("span", "muted code-id", d.code_id)); }
    if (d.carried) { box.appendChild(carriedNote(d)); }
    box.appendChild(append(el("span", "from"), " \u00b7 ", bdi(d.author || "?"), ", " + when(d.timestamp)));
    if (d.status === "new" && d.definition) { box.appendChild(append(el("div", "memo"), "Definition: ", bdi(d.definition))); }
    if (d.memo) { box.appendChild(append(el("div", "memo"), "Memo: ", bdi(d.memo))); }
  }

  function renderCluster(cid) {
    var d = decisions[cid];
    $$('[data-badge="' + cid + '"]').forEach(function (badge) {
      badge.textContent = d ? d.status + (d.carried ? " (carried)" : "") : "undecided";
      badge.className = "badge" + (d ? " " + d.status : "");
    });
    renderDecisionLine(cid);
    renderMemo(cid);
    var undo = $('#cluster-' + cid + ' button[data-action="undo"]');
    if (undo) { undo.hidden = !d; }
  }

  function render() {
    var counts = {decided: 0, carried: 0};
    data.clusters.forEach(function (c) {
      var d = decisions[c.id];
      if (d) { counts.decided += 1; if (d.carried) { counts.carried += 1; } }
      renderCluster(c.id);
    });
    $("#decided-count").textContent = counts.decided + " of " + data.clusters.length + " clusters decided" +
      (counts.carried ? " (" + counts.carried + " carried from earlier runs)" : "");
    renderCoverage();
    renderOrphaned();
    $("#download").hidden = served || local.length === 0;
    $("#pending").textContent = plural(pendingClusters(), "cluster");
    applyFilters();
  }

  function renderCoverage() {
    var accepted = {}, named = [];
    data.clusters.forEach(function (c) {
      var d = decisions[c.id];
      if (d && d.status === "accepted") { (accepted[d.code_id] = accepted[d.code_id] || []).push(c.id); }
      if (d && d.status === "new") { named.push([c.id, d]); }
    });
    var rows = $$("#coverage tr[data-code]");
    var covered = 0;
    rows.forEach(function (row) {
      var ids = accepted[row.dataset.code] || [];
      var cell = $(".accepted-cell", row);
      cell.textContent = "";
      if (!ids.length) { cell.appendChild(el("span", "none", "none")); }
      ids.forEach(function (id, i) {
        if (i) { cell.appendChild(document.createTextNode(", ")); }
        cell.appendChild(clusterLink(id));
      });
      row.classList.toggle("covered", ids.length > 0);
      if (ids.length) { covered += 1; }
    });
    if (rows.length) {
      $("#coverage-summary").textContent = covered + " of " + rows.length + " codes have an accepted cluster; " +
        (rows.length - covered) + " have none.";
    }
    var box = $("#new-themes");
    box.textContent = "";
    if (named.length) {
      box.appendChild(el("h3", "", "New themes"));
      var list = el("ul");
      named.forEach(function (item) {
        var d = item[1];
        var entry = append(el("li"), "\u201c", bdi(d.name), "\u201d (cluster " + item[0] + ")");
        if (d.definition) { append(entry, ": ", bdi(d.definition)); }
        list.appendChild(entry);
      });
      box.appendChild(list);
    }
  }

  // "Its segments are now mostly in cluster 4 (30 of 42), cluster 7 (8)."
  var OTHER_TAXONOMY = "Made with another taxonomy: its code is not in this run\u2019s. It applies again in a run with that taxonomy.";
  var CODE_REMOVED = "Its code is no longer in this taxonomy (renamed or removed since): it will not apply again; decide the cluster again.";

  function nowIn(d) {
    var line = el("div", "now-in");
    if (!d.now_in.length) { line.textContent = "None of its segments is in a cluster now."; return line; }
    line.textContent = "Its segments are now mostly in ";
    d.now_in.slice(0, 3).forEach(function (pair, i) {
      append(line, i ? ", " : "", clusterLink(pair[0]), " (" + pair[1] + (i ? "" : " of " + d.size) + ")");
    });
    if (d.now_in.length > 3) { append(line, " and " + (d.now_in.length - 3) + " more"); }
    append(line, ".");
    return line;
  }

  function orphanItem(d) {
    var item = append(el("li"), el("b", "", d.status === "new" ? "new theme" : d.status));
    if (d.code_id) { append(item, ": " + (codes.has(d.code_id) ? codeName(d.code_id) + " " : ""), el("span", "muted code-id", d.code_id)); }
    if (d.name) { append(item, " \u201c", bdi(d.name), "\u201d"); }
    append(item, " \u00b7 " + d.size + " segments \u00b7 ", bdi(d.author), ", " + when(d.timestamp));
    if (d.memo) { append(item, " \u00b7 memo: ", bdi(d.memo)); }
    append(item, " ", append(el("span", "muted small"), "(decided on ", el("code", "", d.from), ")"));
    if (d.other_taxonomy) { item.appendChild(el("div", "now-in", OTHER_TAXONOMY)); }
    if (d.code_removed) { item.appendChild(el("div", "now-in", CODE_REMOVED)); }
    if (Array.isArray(d.now_in)) { item.appendChild(nowIn(d)); }
    return item;
  }

  function renderOrphaned() {
    var list = $("#orphaned-list");
    $("#orphaned").hidden = orphaned.length === 0;
    list.textContent = "";
    orphaned.forEach(function (d) { list.appendChild(orphanItem(d)); });
  }

  // --- filters and search -----------------------------------------------------------------

  // The words of a quote as the page shows them: the text before its "who" line, or, for a long
  // quote cut with details, the whole text after the summary (never the buttons' words).
  function quoteWords(quote) {
    var long = quote.querySelector("details.long");
    var node = long ? long.lastChild : quote.firstChild;
    return node && node.nodeType === Node.TEXT_NODE ? node.nodeValue : "";
  }

  // What the search looks in: each cluster's label and keywords, and its segments' texts, read
  // once from its card's quotes (representatives and every member; not carried twice in the data).
  var searchText = new Map(data.clusters.map(function (c) {
    var card = document.getElementById("cluster-" + c.id);
    var texts = card ? $$("blockquote.quote", card).map(quoteWords) : [];
    return [c.id, [c.label].concat(c.keywords || [], texts).join("\n").toLowerCase()];
  }));

  function value(id) { var node = $("#" + id); return node ? node.value : ""; }

  function statusMatches(status, d) {
    if (!status) { return true; }
    if (status === "undecided") { return !d; }
    if (status === "carried") { return Boolean(d && d.carried); }
    return Boolean(d && d.status === status);
  }

  function applyFilters() {
    var role = value("filter-role"), source = value("filter-source"), code = value("filter-code");
    var status = value("filter-status");
    var words = value("filter-text").toLowerCase().split(/\s+/).filter(Boolean);
    var shown = new Set();
    $$("article.card").forEach(function (card) {
      var cid = Number(card.dataset.cluster);
      var d = decisions[cid];
      var text = searchText.get(cid) || "";
      var ok = (!role || JSON.parse(card.dataset.roles).indexOf(role) >= 0) &&
        (!source || JSON.parse(card.dataset.sources).indexOf(source) >= 0) &&
        (!code || JSON.parse(card.dataset.codes).indexOf(code) >= 0 || Boolean(d && d.code_id === code)) &&
        statusMatches(status, d) &&
        words.every(function (w) { return text.indexOf(w) >= 0; });
      card.classList.toggle("hidden", !ok);
      if (ok) { shown.add(cid); }
      // A role or source filter also narrows the card's quotes to what those people said there.
      $$("blockquote.quote", card).forEach(function (quote) {
        quote.classList.toggle("hidden", Boolean(role && quote.dataset.role !== role ||
                                                 source && quote.dataset.source !== source));
      });
    });
    $("#filter-count").textContent = "showing " + shown.size + " of " + data.clusters.length + " clusters";
    $$(".size-row[data-cluster]").forEach(function (row) { row.classList.toggle("hidden", !shown.has(Number(row.dataset.cluster))); });
    $$("#map circle").forEach(function (dot) {
      dot.classList.toggle("dim", Number(dot.dataset.cluster) >= 0 && !shown.has(Number(dot.dataset.cluster)));
    });
  }

  // --- the map ----------------------------------------------------------------------------

  function drawMap() {
    var box = $("#map");
    box.textContent = "";
    if (!data.points.length) {
      box.appendChild(el("p", "muted", "No map: too few segments were clustered to place them."));
      return;
    }
    var NS = "http://www.w3.org/2000/svg", W = 640, H = 440, pad = 12;
    var xs = data.points.map(function (p) { return p[0]; }), ys = data.points.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var sx = (W - 2 * pad) / ((x1 - x0) || 1), sy = (H - 2 * pad) / ((y1 - y0) || 1);
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Map of the segments coloured by cluster; the clusters are listed below");
    var ordered = data.points.slice().sort(function (a, b) { return (a[2] >= 0) - (b[2] >= 0); });
    ordered.forEach(function (p) {
      var cluster = clusters.get(p[2]);
      var dot = document.createElementNS(NS, "circle");
      dot.setAttribute("cx", (pad + (p[0] - x0) * sx).toFixed(1));
      dot.setAttribute("cy", (H - pad - (p[1] - y0) * sy).toFixed(1));
      dot.setAttribute("r", cluster ? 4 : 2.5);
      dot.setAttribute("fill", cluster ? cluster.colour : "#b8b8b8");
      dot.setAttribute("fill-opacity", cluster ? 0.85 : 0.6);
      dot.dataset.cluster = p[2];
      var title = document.createElementNS(NS, "title");
      title.textContent = (cluster ? "cluster " + cluster.id + ": " + cluster.label : "unclustered") + "\n" + p[3];
      dot.appendChild(title);
      if (cluster) { dot.addEventListener("click", function () { location.hash = "cluster-" + cluster.id; }); }
      svg.appendChild(dot);
    });
    box.appendChild(svg);
  }

  // --- wiring -----------------------------------------------------------------------------

  function act(button) {
    var card = button.closest("article.card");
    var cid = Number(card.dataset.cluster);
    var field = function (name) { var node = $('[data-field="' + name + '"]', card); return node ? node.value : ""; };
    var action = button.dataset.action;
    if (action === "accept") { decide(cid, "accepted", withMemo(cid, {code_id: button.dataset.code})); }
    else if (action === "accept-other") {
      if (!field("code")) { say("Choose a code in the list first.", true); }
      else { decide(cid, "accepted", withMemo(cid, {code_id: field("code")})); }
    }
    else if (action === "reject") { decide(cid, "rejected", withMemo(cid, {})); }
    else if (action === "new") { decide(cid, "new", withMemo(cid, {name: field("name"), definition: field("definition")})); }
    else if (action === "merge") {
      var target = field("merge").trim();
      decide(cid, "merged", withMemo(cid, {merge_into: /^\d+$/.test(target) ? Number(target) : null}));
    }
    else if (action === "memo") { decide(cid, null, {memo: field("memo")}); }
    else if (action === "undo") { decide(cid, "undecided", {}); }
  }

  // Enter in a field does what its button does.
  var ENTER_ACTIONS = {merge: "merge", name: "new"};

  $("#clusters").addEventListener("click", function (event) {
    var button = event.target.closest("button.act");
    if (button) { act(button); }
  });
  $("#clusters").addEventListener("keydown", function (event) {
    var action = event.key === "Enter" && !event.isComposing ? ENTER_ACTIONS[event.target.dataset.field] : null;
    if (!action) { return; }
    event.preventDefault();
    var button = $('button[data-action="' + action + '"]', event.target.closest("article.card"));
    if (!button.disabled) { act(button); }
  });
  $("#clusters").addEventListener("input", function (event) {
    if (event.target.dataset.field === "memo") { markMemo(Number(event.target.closest("article.card").dataset.cluster)); }
  });
  ["filter-role", "filter-source", "filter-code", "filter-status", "filter-text"].forEach(function (id) {
    var node = $("#" + id);
    if (node) { node.addEventListener("input", applyFilters); }
  });
  $("#download").addEventListener("click", download);
  var author = $("#author");
  author.value = storage("get", "themes-author") || "";
  author.addEventListener("change", function () {
    var refused = fieldProblem("author", author.value);
    if (refused) { say("Not kept: " + refused, true); } else { storage("set", "themes-author", author.value); }
  });

  // Focus moved by Tab scrolls clear of the sticky header: by its height as it is now (it grows
  // as the window narrows or a message wraps), not the stylesheet's guess.
  function clearHeader() {
    var root = document.documentElement;
    root.style.scrollPaddingTop = Math.ceil($("header.top").getBoundingClientRect().height) + 4 + "px";
    root.classList.add("header-measured");
  }
  clearHeader();
  window.addEventListener("resize", clearHeader);
  if (window.ResizeObserver) { new window.ResizeObserver(clearHeader).observe($("header.top")); }

  drawMap();
  if (served) {
    connection(true);
    decisions = baseDecisions();
    render();
    poll();
    window.setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", poll);
  } else {
    try {
      var saved = JSON.parse(storage("get", STORAGE) || "[]");
      // A decision this page made that the store has since superseded by a decision on this
      // run's cluster, an undo included (the run was made again after it was imported, or
      // after the cluster was decided again), is dropped; a carried one never supersedes it.
      var decidedAt = data.decided_at || {};
      local = Array.isArray(saved) ? saved.filter(function (e) {
        var since = e && decidedAt[e.cluster_id];
        return e && e.run === data.run && clusters.has(e.cluster_id) && !(since && since >= e.timestamp);
      }) : [];
    } catch (err) { local = []; }
    var checked = importable(local);
    local = checked.events;
    deriveStatic();
    render();
    var left = checked.left.concat(offerEarlier());
    if (left.length) {  // after the offer of earlier decisions, if any, in the same message
      say(($("#message").textContent ? $("#message").textContent + " " : "") + "Left out of the download: " +
          plural(left.length, "decision") + " this browser kept that `themes decisions import` would refuse; " +
          "decide again: " + left.join("; ") + ".", true);
    }
  }
}());
