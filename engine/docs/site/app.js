// quarry docs: the page that shows docs.json (inlined in index.html as
// <script type="application/json" id="quarry-data">). Vanilla JS, no build.
//
// Everything from the project (names, descriptions, SQL, messages) is put on
// the page as text (textContent, createTextNode, setAttribute), never as
// HTML: there is no innerHTML in this file.
//
// Driving the page (for tests and for links):
//
//   Routes (location.hash):
//     #/                              overview                main[data-route="overview"]
//     #/list/<type>                   nodes of a type         main[data-route="list"]
//     #/node/<unique_id>              a node's page           main[data-route="node"]
//     #/node/<unique_id>?column=<c>   ... with column c's lineage shown
//     #/lineage/<unique_id>?up=2&down=2&tests=1
//                                     graph around a node     main[data-route="lineage"]
//     #/graph/<selection>             graph of a selection    main[data-route="graph"]
//   unique ids and selections are URI-encoded (encodeURIComponent).
//
//   Ids and test ids:
//     #search (data-testid=search)    the search box; results in
//     #search-results                 li[data-testid=search-result][data-id=<unique_id>]
//     #project-name, #overview-counts, #last-run, #status-counts
//     #list, #list-more               a list page's table and its "show more" button
//     #node-name, #node-type, #node-status (data-status=<status>), #node-description,
//     #node-meta, #node-result, #node-freshness, #columns (tr[data-column=<name>],
//     button[data-testid=column-lineage-button]), #column-lineage (#column-upstream,
//     #column-downstream), #node-tests, #upstream, #downstream (li[data-id]),
//     #raw-sql, #compiled-sql, #node-config, #lineage-link
//     #lineage-up-minus, #lineage-up-plus, #lineage-down-minus, #lineage-down-plus,
//     #lineage-up, #lineage-down (the levels shown), #lineage-tests (checkbox)
//     #lineage-select (the selection box; Enter shows #/graph/<it>), #lineage-error
//     #graph: an <svg>; each node g.gnode[data-testid=graph-node][data-id][data-status]
//     .badge[data-status]: ok | failed | warn | skipped | stale | not run
//
//   Selection syntax in #lineage-select (a subset of quarry's --select):
//     name (globs * ? allowed; or a unique id), +name (all ancestors), name+
//     (all descendants), 2+name / name+1 (N generations), tag:x, path:dir
//     (a folder or file, with or without models/, seeds/, tests/),
//     source:x or source:x.table, resource_type:model|seed|source|test|extract.
//     Space-separated terms are a union, comma-separated atoms an intersection.
//     Not supported here: --exclude, @, test_type:, test_name:.
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("quarry-data").textContent);
  // docs.json keeps nodes by unique id, sorted; the page wants a list.
  var nodes = Object.keys(DATA.nodes).map(function (id) {
    var n = DATA.nodes[id];
    n.id = id;
    return n;
  });
  var byId = new Map();
  nodes.forEach(function (n) { byId.set(n.id, n); });
  // The edges are built when a page first needs them: the overview, the
  // page opened first, does not, and at 10,000 nodes they cost about a
  // tenth of a second of the page's opening (BENCHMARKS.md, issue 12).
  var edges = null;
  function links() {
    if (edges) return edges;
    edges = { parents: new Map(), children: new Map(), testsOn: new Map() };
    nodes.forEach(function (n) { edges.children.set(n.id, []); });
    nodes.forEach(function (n) {
      var deps = (n.depends_on || []).filter(function (d) { return byId.has(d); });
      edges.parents.set(n.id, deps);
      deps.forEach(function (d) { edges.children.get(d).push(n.id); });
      if (n.test && n.test.attached) {
        if (!edges.testsOn.has(n.test.attached)) edges.testsOn.set(n.test.attached, []);
        edges.testsOn.get(n.test.attached).push(n.id);
      }
    });
    return edges;
  }

  var TYPES = ["model", "seed", "source", "extract", "test"];
  var TYPE_LABEL = { model: "Models", seed: "Seeds", source: "Sources", extract: "Extractors", test: "Tests" };
  var STATUSES = ["ok", "failed", "warn", "stale", "skipped", "not run"];
  var PAGE = 200; // rows a list renders before "show more"
  var GRAPH_LIMIT = 400; // nodes the graph lays out at most

  var main = document.getElementById("main");
  var searchBox = document.getElementById("search");
  var resultsBox = document.getElementById("search-results");

  // el builds an element: attrs are set as attributes (or on* handlers),
  // children are nodes or strings (made text nodes).
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function append(parent, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(parent, x); }); return; }
    parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }

  function nodeHref(id, column) {
    return "#/node/" + encodeURIComponent(id) + (column ? "?column=" + encodeURIComponent(column) : "");
  }
  function lineageHref(id, up, down, tests) {
    return "#/lineage/" + encodeURIComponent(id) + "?up=" + up + "&down=" + down + (tests ? "&tests=1" : "");
  }
  function displayName(n) {
    return n.type === "source" && n.source_name ? n.source_name + "." + n.name : n.name;
  }
  function statusClass(s) { return "status-" + String(s).replace(/ /g, "-"); }
  function badge(s, title) {
    return el("span", { "class": "badge " + statusClass(s), "data-status": s, title: title || null }, s);
  }
  function nodeLink(id, column) {
    var n = byId.get(id);
    if (!n) return el("span", null, id);
    return el("span", null, el("a", { href: nodeHref(id, column) }, displayName(n) + (column ? "." + column : "")),
      el("span", { "class": "type" }, n.type), " ", badge(n.status, n.status_reason));
  }
  function section(title, id) {
    return [el("h2", null, title), el("div", { id: id })];
  }
  function kv(rows, id) {
    var t = el("table", { "class": "kv", id: id });
    rows.forEach(function (r) {
      if (r[1] === undefined || r[1] === null || r[1] === "") return;
      t.appendChild(el("tr", null, el("th", null, r[0]), el("td", null, r[1])));
    });
    return t;
  }
  function when(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }
  function seconds(s) { return s === undefined ? "" : (s < 10 ? s.toFixed(3) : s.toFixed(1)) + " s"; }

  // ---- routing ----

  function parseHash() {
    var h = location.hash.replace(/^#\/?/, "");
    var q = "";
    var i = h.indexOf("?");
    if (i >= 0) { q = h.slice(i + 1); h = h.slice(0, i); }
    var params = {};
    q.split("&").forEach(function (kvp) {
      if (!kvp) return;
      var j = kvp.indexOf("=");
      params[decodeURIComponent(j < 0 ? kvp : kvp.slice(0, j))] = j < 0 ? "" : decodeURIComponent(kvp.slice(j + 1));
    });
    var slash = h.indexOf("/");
    var page = slash < 0 ? h : h.slice(0, slash);
    var arg = slash < 0 ? "" : decodeURIComponent(h.slice(slash + 1));
    return { page: page || "overview", arg: arg, params: params };
  }

  function route() {
    hideResults();
    var r = parseHash();
    main.textContent = "";
    var view = { overview: overview, list: list, node: nodePage, lineage: lineagePage, graph: graphPage }[r.page];
    if (!view) view = notFound;
    main.setAttribute("data-route", view === notFound ? "not-found" : r.page);
    view(r.arg, r.params);
    window.scrollTo(0, 0);
  }

  function notFound(arg) {
    append(main, [el("h1", null, "Not found"), el("p", null, "Nothing is at this address. ", el("a", { href: "#/" }, "Overview"))]);
  }

  // ---- overview ----

  function overview() {
    var perType = {}, perStatus = {};
    nodes.forEach(function (n) {
      perType[n.type] = (perType[n.type] || 0) + 1;
      perStatus[n.status] = (perStatus[n.status] || 0) + 1;
    });
    var counts = el("p", { "class": "counts", id: "overview-counts" });
    TYPES.forEach(function (t) {
      if (!perType[t]) return;
      counts.appendChild(el("a", { href: "#/list/" + t, "data-type": t, "data-count": perType[t] }, perType[t] + " " + TYPE_LABEL[t].toLowerCase()));
    });
    append(main, [el("h1", null, DATA.project),
      el("p", { "class": "muted" }, "Target " + DATA.target + " (" + DATA.target_type + "). Generated " + when(DATA.generated_at) + " by quarry " + DATA.quarry_version + "."),
      counts]);

    append(main, el("h2", null, "Last run"));
    var run = DATA.last_run;
    if (!run) {
      append(main, el("p", { id: "last-run", "class": "muted" }, "No run recorded (target/run_results.json is missing): run quarry build, then generate the docs again."));
    } else {
      var st = el("span");
      Object.keys(run.statuses).sort().forEach(function (s) { append(st, [s + " " + run.statuses[s], "  "]); });
      append(main, kv([["When", when(run.generated_at)], ["Command", "quarry " + run.command], ["Took", seconds(run.elapsed_time)],
        ["Results", st], ["Interrupted", run.interrupted ? "yes: some nodes did not run" : ""]], "last-run"));
    }
    var sc = el("p", { id: "status-counts" });
    STATUSES.forEach(function (s) {
      if (perStatus[s]) append(sc, [badge(s), " " + perStatus[s] + "   "]);
    });
    append(main, [el("h2", null, "Data status"), sc]);
    var trouble = nodes.filter(function (n) { return n.status === "failed" || n.status === "stale" || n.status === "warn" || n.status === "skipped"; });
    if (trouble.length) {
      append(main, el("p", null, "Needing attention:"));
      append(main, lazyTable(trouble, "trouble"));
    } else if (run) {
      append(main, el("p", null, "Nothing failed, warned, went stale or was skipped in the last run."));
    }
    append(main, [el("h2", null, "Lineage"), el("p", null, "Open a node and follow its lineage link, or ",
      el("a", { href: "#/graph/" }, "select nodes to draw"), ".")]);
  }

  // ---- lists ----

  function list(type) {
    var of = nodes.filter(function (n) { return n.type === type; });
    append(main, [el("h1", null, (TYPE_LABEL[type] || type) + " (" + of.length + ")"), lazyTable(of, "list")]);
  }

  // lazyTable renders PAGE rows and a button for the next PAGE, so a list
  // of 10,000 nodes costs what 200 do until someone asks for more.
  function lazyTable(items, id) {
    var wrap = el("div");
    var tbody = el("tbody");
    wrap.appendChild(el("table", { id: id, "data-count": items.length },
      el("thead", null, el("tr", null, el("th", null, "name"), el("th", null, "type"), el("th", null, "status"), el("th", null, "description"))),
      tbody));
    var shown = 0;
    var more = el("button", { id: id + "-more", type: "button", onclick: function () { page(); } });
    function page() {
      var end = Math.min(items.length, shown + PAGE);
      var frag = document.createDocumentFragment();
      for (; shown < end; shown++) {
        var n = items[shown];
        frag.appendChild(el("tr", { "data-id": n.id },
          el("td", null, el("a", { href: nodeHref(n.id) }, displayName(n))),
          el("td", null, n.type),
          el("td", null, badge(n.status, n.status_reason)),
          el("td", { "class": "muted" }, firstLine(n.description))));
      }
      tbody.appendChild(frag);
      more.textContent = "Show " + Math.min(PAGE, items.length - shown) + " more (" + (items.length - shown) + " left)";
      more.hidden = shown >= items.length;
    }
    page();
    wrap.appendChild(more);
    return wrap;
  }
  function firstLine(s) {
    if (!s) return "";
    var line = s.split("\n")[0];
    return line.length > 160 ? line.slice(0, 160) + "…" : line;
  }

  // ---- a node ----

  function nodePage(id, params) {
    var n = byId.get(id);
    if (!n) return notFound();
    append(main, [
      el("h1", null, el("span", { id: "node-name" }, displayName(n)), " ", el("span", { id: "node-type", "class": "type" }, n.type), " ",
        el("span", { id: "node-status", "data-status": n.status }, badge(n.status, n.status_reason))),
      n.status_reason ? el("p", { "class": "muted", id: "node-status-reason" }, n.status_reason) : null,
      el("p", { id: "node-description", "class": "desc" + (n.description ? "" : " muted") }, n.description || "No description."),
      el("p", null, el("a", { id: "lineage-link", href: lineageHref(n.id, 2, 2) }, "Lineage graph around " + displayName(n)))
    ]);

    var cfg = n.config || {};
    var t = n.test;
    append(main, kv([
      ["Unique id", el("code", null, n.id)],
      ["File", n.path ? el("code", null, n.path) : ""],
      ["Relation", n.relation ? el("code", null, n.relation) : ""],
      ["Materialized", cfg.materialized],
      ["Tags", (cfg.tags || []).join(", ")],
      ["In the warehouse", n.warehouse_kind ? n.warehouse_kind + (n.row_count !== undefined ? ", " + n.row_count.toLocaleString() + " rows" : "") :
        (DATA.has_catalog && (n.type === "model" || n.type === "seed" || n.type === "source") && cfg.materialized !== "ephemeral" ? "not found in the last build's catalog" : "")],
      ["Row count", n.row_count !== undefined ? String(n.row_count) : ""],
      ["Tests", t ? [t.kind, t.generic ? " " + t.generic : "", t.column ? " on column " + t.column : ""].join("") : ""],
      ["Tested node", t && t.attached ? nodeLink(t.attached) : ""],
      ["Analysis", n.not_analysed ? "not checked: " + n.not_analysed : ""]
    ], "node-meta"));

    append(main, el("h2", null, "Last run"));
    var r = n.result;
    if (r) {
      append(main, kv([["Status", r.status], ["Started", when(r.started_at)], ["Took", seconds(r.execution_time)],
        ["Rows", r.rows_affected !== undefined ? String(r.rows_affected) : ""], ["Failures", r.failures !== undefined ? String(r.failures) : ""],
        ["Message", r.message ? el("pre", null, r.message) : ""]], "node-result"));
    } else {
      append(main, el("p", { id: "node-result", "class": "muted" }, n.type === "source" ? "Sources are read, not run." : "Not in the last run."));
    }
    if (n.type === "source") {
      append(main, el("h2", null, "Freshness"));
      var f = n.freshness;
      append(main, f ? kv([["Status", badge(f.status === "pass" ? "ok" : f.status === "error" ? "failed" : "stale")], ["Checked", when(f.started_at)], ["Message", f.message]], "node-freshness")
        : el("p", { id: "node-freshness", "class": "muted" }, "No freshness check ran for this source in the last run."));
    }

    if (n.columns && n.columns.length) {
      append(main, el("h2", null, "Columns (" + n.columns.length + ")"));
      var tbody = el("tbody");
      var hasLineage = n.columns.some(function (c) { return c.lineage; });
      n.columns.forEach(function (c) {
        var tests = (c.tests || []).map(function (tid) {
          var tn = byId.get(tid);
          return el("span", null, el("a", { href: nodeHref(tid) }, tn.test && tn.test.generic || tn.name), " ", badge(tn.status), " ");
        });
        var typ = c.type || c.warehouse_type || "";
        tbody.appendChild(el("tr", { "data-column": c.name, "class": params.column === c.name ? "selected" : null },
          el("td", null, el("a", { href: nodeHref(n.id, c.name), "data-testid": "column-lineage-button", title: "Where this column comes from and goes" }, c.name)),
          el("td", null, el("code", null, typ), c.type && c.warehouse_type ? el("span", { "class": "muted", title: "the warehouse's type" }, " (" + c.warehouse_type + ")") : null),
          el("td", { "class": "desc" }, c.description || ""),
          el("td", null, c.lineage ? c.lineage.kind : ""),
          el("td", null, tests)));
      });
      append(main, el("table", { id: "columns" },
        el("thead", null, el("tr", null, el("th", null, "column"), el("th", null, "type"), el("th", null, "description"),
          el("th", null, hasLineage ? "lineage" : ""), el("th", null, "tests"))), tbody));
      if (params.column !== undefined) append(main, columnLineage(n, params.column));
    }

    var tests = (links().testsOn.get(n.id) || []);
    if (tests.length) {
      append(main, el("h2", null, "Tests (" + tests.length + ")"));
      append(main, el("ul", { id: "node-tests", "class": "nodes" }, tests.map(function (tid) { return el("li", { "data-id": tid }, nodeLink(tid)); })));
    }

    append(main, el("h2", null, "Upstream"));
    append(main, idList(links().parents.get(n.id), "upstream", "Nothing: data enters the project here."));
    append(main, el("h2", null, "Downstream"));
    append(main, idList(links().children.get(n.id), "downstream", "Nothing reads it."));

    if (n.raw_sql !== undefined || n.compiled_sql !== undefined) {
      append(main, [el("h2", null, "SQL"),
        el("details", { open: true }, el("summary", null, "As written"), el("pre", { id: "raw-sql" }, n.raw_sql || "")),
        el("details", null, el("summary", null, "Compiled"), el("pre", { id: "compiled-sql" }, n.compiled_sql || "(not compiled)"))]);
    }
    if (n.config || n.settings) {
      append(main, [el("h2", null, n.settings ? "Settings" : "Config"),
        el("pre", { id: "node-config" }, JSON.stringify(n.settings || n.config, null, 2))]);
    }
    if (params.column !== undefined) {
      var sel = document.getElementById("column-lineage");
      if (sel) sel.scrollIntoView();
    }
  }

  function idList(ids, id, empty) {
    if (!ids || !ids.length) return el("p", { id: id, "class": "muted" }, empty);
    return el("ul", { id: id, "class": "nodes" }, ids.map(function (x) { return el("li", { "data-id": x }, nodeLink(x)); }));
  }

  // ---- column lineage ----

  var downIndex = null; // "unique id\0lower column" -> [{id, column, kind}]
  function downstreamIndex() {
    if (downIndex) return downIndex;
    downIndex = new Map();
    nodes.forEach(function (n) {
      (n.columns || []).forEach(function (c) {
        if (!c.lineage || !c.lineage.sources) return;
        c.lineage.sources.forEach(function (s) {
          var key = s[0] + "\0" + s[1].toLowerCase();
          if (!downIndex.has(key)) downIndex.set(key, []);
          downIndex.get(key).push({ id: n.id, column: c.name, kind: c.lineage.kind });
        });
      });
    });
    return downIndex;
  }
  function findColumn(n, name) {
    var lower = String(name).toLowerCase();
    return (n.columns || []).find(function (c) { return c.name.toLowerCase() === lower; });
  }

  function columnLineage(n, column) {
    var box = el("div", { id: "column-lineage", "data-column": column });
    var c = findColumn(n, column);
    append(box, el("h2", null, "Lineage of column " + column));
    if (!c) { append(box, el("p", { "class": "error" }, displayName(n) + " has no column " + column + ".")); return box; }
    append(box, el("h3", null, "Upstream: where it comes from"));
    var up = el("ul", { id: "column-upstream", "class": "tree" });
    upstreamTree(n, c, up, new Set(), 0);
    if (!up.childNodes.length) up.appendChild(el("li", { "class": "muted" }, n.type === "model" ? "No upstream column." : "Data enters the project here (" + n.type + ")."));
    append(box, up);
    append(box, el("h3", null, "Downstream: what is computed from it"));
    var down = el("ul", { id: "column-downstream", "class": "tree" });
    downstreamTree(n.id, c.name, down, new Set(), 0);
    if (!down.childNodes.length) down.appendChild(el("li", { "class": "muted" }, "No analysed model computes a column from it."));
    append(box, down);
    return box;
  }

  function upstreamTree(n, c, ul, seen, depth) {
    var l = c.lineage;
    if (!l) return;
    if (l.kind === "unknown") { ul.appendChild(el("li", { "class": "muted" }, "unknown: " + (l.reason || ""))); return; }
    if (!l.sources || !l.sources.length) {
      ul.appendChild(el("li", { "class": "muted" }, l.kind + " from no upstream column (a constant, count(*), or filters only)"));
      return;
    }
    l.sources.forEach(function (s) {
      var key = s[0] + "\0" + s[1].toLowerCase();
      var li = el("li", { "data-id": s[0], "data-column": s[1] }, l.kind + " from ", nodeLink(s[0], s[1]));
      ul.appendChild(li);
      if (seen.has(key)) { append(li, el("span", { "class": "muted" }, " (shown above)")); return; }
      seen.add(key);
      var up = byId.get(s[0]);
      var uc = up && findColumn(up, s[1]);
      if (uc && depth < 50) {
        var sub = el("ul", { "class": "tree" });
        upstreamTree(up, uc, sub, seen, depth + 1);
        if (sub.childNodes.length) li.appendChild(sub);
      }
    });
  }

  function downstreamTree(id, column, ul, seen, depth) {
    var uses = downstreamIndex().get(id + "\0" + column.toLowerCase()) || [];
    uses.forEach(function (u) {
      var key = u.id + "\0" + u.column.toLowerCase();
      var li = el("li", { "data-id": u.id, "data-column": u.column }, u.kind + " into ", nodeLink(u.id, u.column));
      ul.appendChild(li);
      if (seen.has(key)) { append(li, el("span", { "class": "muted" }, " (shown above)")); return; }
      seen.add(key);
      if (depth < 50) {
        var sub = el("ul", { "class": "tree" });
        downstreamTree(u.id, u.column, sub, seen, depth + 1);
        if (sub.childNodes.length) li.appendChild(sub);
      }
    });
  }

  // ---- lineage graph ----

  function lineagePage(id, params) {
    var n = byId.get(id);
    if (!n) return notFound();
    var up = clampLevel(params.up), down = clampLevel(params.down);
    var tests = params.tests === "1";
    var ids = new Set([id]);
    walk(id, links().parents, up, ids, tests);
    walk(id, links().children, down, ids, tests);
    var btn = function (bid, label, u, d) {
      return el("button", { id: bid, type: "button", disabled: u < 0 || d < 0 || u > 99 || d > 99,
        onclick: function () { location.hash = lineageHref(id, u, d, tests); } }, label);
    };
    append(main, [el("h1", null, "Lineage of ", el("a", { href: nodeHref(id) }, displayName(n)), " ", badge(n.status, n.status_reason)),
      el("div", { "class": "controls" },
        "Upstream levels ", btn("lineage-up-minus", "−", up - 1, down), el("b", { id: "lineage-up" }, String(up)), btn("lineage-up-plus", "+", up + 1, down),
        "  Downstream levels ", btn("lineage-down-minus", "−", up, down - 1), el("b", { id: "lineage-down" }, String(down)), btn("lineage-down-plus", "+", up, down + 1),
        el("label", null, el("input", { type: "checkbox", id: "lineage-tests", checked: tests,
          onchange: function (e) { location.hash = lineageHref(id, up, down, e.target.checked); } }), " tests")),
      selectBox(""),
      drawGraph(ids, id)]);
  }
  function clampLevel(v) {
    var x = parseInt(v, 10);
    return isNaN(x) || x < 0 ? 2 : Math.min(x, 99);
  }
  // walk adds the nodes within levels steps of id along next.
  function walk(id, next, levels, into, tests) {
    var frontier = [id];
    for (var l = 0; l < levels && frontier.length; l++) {
      var nextFrontier = [];
      frontier.forEach(function (x) {
        next.get(x).forEach(function (y) {
          if (into.has(y) || (!tests && byId.get(y).type === "test")) return;
          into.add(y);
          nextFrontier.push(y);
        });
      });
      frontier = nextFrontier;
    }
  }

  function graphPage(expr) {
    append(main, el("h1", null, "Lineage graph"));
    append(main, selectBox(expr));
    if (!expr.trim()) {
      append(main, el("p", { "class": "muted" }, "Type a selection above, e.g. +mart_name (a mart and everything it reads), tag:daily, path:marts, source:github."));
      return;
    }
    var sel;
    try {
      sel = select(expr);
    } catch (e) {
      append(main, el("p", { id: "lineage-error", "class": "error" }, e.message));
      return;
    }
    append(main, el("p", { "class": "muted", id: "graph-count", "data-count": sel.size }, sel.size + " nodes selected."));
    append(main, drawGraph(sel, null));
  }

  function selectBox(value) {
    var input = el("input", { type: "text", id: "lineage-select", "data-testid": "lineage-select", value: value,
      placeholder: "+name, name+, 2+name, tag:x, path:dir, source:x", spellcheck: "false" });
    return el("form", { "class": "controls", onsubmit: function (e) {
      e.preventDefault();
      location.hash = "#/graph/" + encodeURIComponent(input.value.trim());
    } }, el("label", { "for": "lineage-select" }, "Select "), input, el("button", { type: "submit", id: "lineage-select-go" }, "Show"));
  }

  // select evaluates quarry's selection syntax (the subset documented at
  // the top) over the graph; it throws an Error whose message says why.
  function select(expr) {
    var out = new Set();
    expr.trim().split(/\s+/).forEach(function (term) {
      var acc = null;
      term.split(",").forEach(function (atom) {
        var s = atom2set(atom);
        if (acc === null) acc = s;
        else acc.forEach(function (id) { if (!s.has(id)) acc.delete(id); });
      });
      acc.forEach(function (id) { out.add(id); });
    });
    return out;
  }
  function atom2set(atom) {
    var m = /^(\d*\+)?([^+]+?)(\+\d*)?$/.exec(atom);
    if (!m) throw new Error("\"" + atom + "\": write name, +name, name+, 2+name or name+1");
    var up = m[1] ? (m[1].length > 1 ? parseInt(m[1], 10) : Infinity) : 0;
    var down = m[3] ? (m[3].length > 1 ? parseInt(m[3].slice(1), 10) : Infinity) : 0;
    var body = m[2], method = "name", value = body;
    var colon = body.indexOf(":");
    if (colon >= 0) { method = body.slice(0, colon); value = body.slice(colon + 1); }
    if (!value) throw new Error("\"" + atom + "\": " + method + ": needs a value after the colon");
    var match;
    switch (method) {
      case "name":
        var re = value.search(/[*?]/) >= 0 ? globRe(value) : null;
        match = function (n) { return n.name === value || n.id === value || (n.type === "source" && displayName(n) === value) || (re && re.test(n.name)); };
        break;
      case "tag":
        match = function (n) { return n.config && (n.config.tags || []).indexOf(value) >= 0; };
        break;
      case "path":
        var clean = value.replace(/\/+$/, "");
        var prefixes = [clean, "models/" + clean, "seeds/" + clean, "tests/" + clean];
        match = function (n) {
          return n.type !== "source" && !!n.path && prefixes.some(function (p) { return n.path === p || n.path.indexOf(p + "/") === 0; });
        };
        break;
      case "source":
        match = function (n) { return n.type === "source" && (n.source_name === value || n.source_name + "." + n.name === value); };
        break;
      case "resource_type":
        if (TYPES.indexOf(value) < 0) throw new Error("resource_type is one of " + TYPES.join(", ") + ", not \"" + value + "\"");
        match = function (n) { return n.type === value; };
        break;
      default:
        throw new Error("\"" + atom + "\": the page knows the methods tag:, path:, source: and resource_type:, not " + method + ":");
    }
    var base = new Set();
    nodes.forEach(function (n) { if (match(n)) base.add(n.id); });
    if (!base.size) throw new Error("\"" + atom + "\" matches no node");
    var out = new Set(base);
    base.forEach(function (id) {
      if (up) walk(id, links().parents, up, out, true);
      if (down) walk(id, links().children, down, out, true);
    });
    return out;
  }
  function globRe(g) {
    return new RegExp("^" + g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
  }

  // drawGraph lays ids out with dagre (left to right, sources first) and
  // draws them as SVG; a click on a node opens its page.
  function drawGraph(ids, focus) {
    var box = el("div", { id: "graph", "data-count": ids.size });
    if (ids.size > GRAPH_LIMIT) {
      append(box, el("p", { "class": "muted", style: "padding:8px" }, ids.size + " nodes are too many to draw legibly (the limit is " + GRAPH_LIMIT +
        "): narrow the selection, or lower the levels. They are listed below."));
      append(box, lazyTable(nodes.filter(function (n) { return ids.has(n.id); }), "graph-list"));
      return box;
    }
    var g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 12, ranksep: 48, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(function () { return {}; });
    ids.forEach(function (id) {
      var n = byId.get(id);
      var label = displayName(n);
      g.setNode(id, { label: label, width: Math.min(320, 30 + label.length * 7), height: 26 });
    });
    ids.forEach(function (id) {
      links().parents.get(id).forEach(function (p) { if (ids.has(p)) g.setEdge(p, id); });
    });
    dagre.layout(g);
    var NS = "http://www.w3.org/2000/svg";
    function s(tag, attrs) {
      var e = document.createElementNS(NS, tag);
      Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
      return e;
    }
    var gg = g.graph();
    var svg = s("svg", { width: Math.ceil(gg.width || 0), height: Math.ceil(gg.height || 0), role: "img" });
    g.edges().forEach(function (e) {
      var pts = g.edge(e).points;
      var d = pts.map(function (p, i) { return (i ? "L" : "M") + p.x.toFixed(1) + " " + p.y.toFixed(1); }).join(" ");
      var path = s("path", { d: d, "class": "edge", "data-from": e.v, "data-to": e.w });
      svg.appendChild(path);
    });
    g.nodes().forEach(function (id) {
      var ln = g.node(id), n = byId.get(id);
      var grp = s("g", { "class": "gnode" + (id === focus ? " focus" : ""), "data-testid": "graph-node", "data-id": id, "data-status": n.status,
        transform: "translate(" + (ln.x - ln.width / 2).toFixed(1) + "," + (ln.y - ln.height / 2).toFixed(1) + ")" });
      var title = s("title");
      title.textContent = n.type + " " + displayName(n) + " — " + n.status + (n.status_reason ? ": " + n.status_reason : "");
      grp.appendChild(title);
      grp.appendChild(s("rect", { width: ln.width, height: ln.height, rx: 4 }));
      grp.appendChild(s("circle", { cx: 12, cy: ln.height / 2, r: 5, "class": "dot " + statusClass(n.status) }));
      var text = s("text", { x: 22, y: ln.height / 2 + 4 });
      text.textContent = ln.label;
      grp.appendChild(text);
      grp.addEventListener("click", function () { location.hash = nodeHref(id); });
      svg.appendChild(grp);
    });
    box.appendChild(svg);
    return box;
  }

  // ---- search ----

  // The index is built on the first search: per node, its name, its
  // description and its columns, lower-cased once.
  var index = null;
  function searchIndex() {
    if (index) return index;
    index = nodes.map(function (n) {
      return {
        n: n, name: displayName(n).toLowerCase(), desc: (n.description || "").toLowerCase(),
        cols: (n.columns || []).map(function (c) { return { c: c, name: c.name.toLowerCase(), desc: (c.description || "").toLowerCase() }; })
      };
    });
    return index;
  }

  // search ranks nodes for q: the name equal, starting with, holding q;
  // then a column's name; then a description (the node's or a column's).
  function search(q, limit) {
    var words = q.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) return { total: 0, hits: [] };
    var hits = [];
    searchIndex().forEach(function (e) {
      var best = null;
      var all = function (s) { return words.every(function (w) { return s.indexOf(w) >= 0; }); };
      var joined = words.join(" ");
      if (e.name === joined) best = { rank: 0, why: "name" };
      else if (e.name.indexOf(joined) === 0) best = { rank: 1, why: "name" };
      else if (all(e.name)) best = { rank: 2, why: "name" };
      if (!best || best.rank > 2) {
        for (var i = 0; i < e.cols.length; i++) {
          var c = e.cols[i];
          if (c.name === joined || all(c.name)) { best = { rank: c.name === joined ? 3 : 4, why: "column", column: c.c.name }; break; }
        }
      }
      if (!best && all(e.desc)) best = { rank: 5, why: "description" };
      if (!best) {
        for (var j = 0; j < e.cols.length; j++) {
          if (all(e.cols[j].desc)) { best = { rank: 6, why: "column description", column: e.cols[j].c.name }; break; }
        }
      }
      if (best) {
        if (e.n.type === "test") best.rank += 10; // a test named after a column is rarely what is sought
        best.n = e.n;
        hits.push(best);
      }
    });
    hits.sort(function (a, b) { return a.rank - b.rank || (a.n.type === "test") - (b.n.type === "test") || a.n.name.length - b.n.name.length || (a.n.id < b.n.id ? -1 : 1); });
    return { total: hits.length, hits: hits.slice(0, limit) };
  }

  var active = 0;
  function showResults() {
    var q = searchBox.value.trim();
    resultsBox.textContent = "";
    if (!q) { hideResults(); return; }
    var res = search(q, 50);
    active = 0;
    var ol = el("ol", { id: "search-list" });
    res.hits.forEach(function (h, i) {
      var n = h.n;
      var href = nodeHref(n.id, h.column);
      ol.appendChild(el("li", { "data-testid": "search-result", "data-id": n.id, "data-column": h.column || null, "class": i === 0 ? "active" : null },
        el("a", { href: href }, displayName(n) + (h.column ? "." + h.column : "")), el("span", { "class": "type" }, n.type), " ", badge(n.status),
        el("div", { "class": "why" }, "matched " + h.why + (n.description ? ": " + firstLine(n.description) : ""))));
    });
    append(resultsBox, [el("div", { "class": "why", id: "search-count", "data-count": res.total, style: "padding:6px 10px" },
      res.total ? res.total + " matches" + (res.total > res.hits.length ? ", the first " + res.hits.length + " shown" : "") : "No node, column or description matches."), ol]);
    resultsBox.hidden = false;
  }
  function hideResults() { resultsBox.hidden = true; }
  function moveActive(by) {
    var items = resultsBox.querySelectorAll("li");
    if (!items.length) return;
    items[active].classList.remove("active");
    active = (active + by + items.length) % items.length;
    items[active].classList.add("active");
    items[active].scrollIntoView({ block: "nearest" });
  }

  var timer = null;
  searchBox.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(showResults, 60);
  });
  searchBox.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") { e.preventDefault(); moveActive(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); moveActive(-1); }
    else if (e.key === "Escape") { hideResults(); }
    else if (e.key === "Enter") {
      clearTimeout(timer);
      if (resultsBox.hidden) showResults();
      var a = resultsBox.querySelectorAll("li a")[active];
      if (a) { location.hash = a.getAttribute("href"); searchBox.blur(); }
    }
  });
  searchBox.addEventListener("focus", function () { if (searchBox.value.trim()) showResults(); });
  document.addEventListener("click", function (e) {
    if (!resultsBox.contains(e.target) && e.target !== searchBox) hideResults();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && document.activeElement !== searchBox && !/^(INPUT|TEXTAREA)$/.test(document.activeElement.tagName)) {
      e.preventDefault();
      searchBox.focus();
    }
  });

  document.getElementById("project-name").textContent = DATA.project;
  document.title = DATA.project + " · quarry docs";
  window.addEventListener("hashchange", route);
  route();
  document.body.setAttribute("data-ready", "true");
})();
