/* analyzer HTML report: its tables, sorting, filtering, folding and the graph view.
 * Plain JavaScript, no dependency, no network. A full page's totals, conventions, layer table
 * (header, column groups, rows) and module table are drawn here from the JSON blob
 * (script.az-data), each number formatted exactly as the Python side writes it in a notebook
 * fragment (html.py, html_values.py), where these tables are in the page already; the graph is
 * drawn from the same blob, laid out by the Python side (html_graph.py). */
(function () {
  "use strict";

  var VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];
  var CATEGORY = { compute: "#d1495b", memory: "#2e86ab", none: "#e6e8eb" };
  var OTHER = ["#edae49", "#66a182", "#8d6a9f", "#00798c", "#a5a58d"];
  var NONE = "#e6e8eb";
  var NODE_W = 150, NODE_H = 22, GAP_X = 24, GAP_Y = 18, MARGIN = 12;

  function esc(s) {  // html.escape(s, quote=True)
    s = String(s);
    return /[&<>"']/.test(s) ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;") : s;
  }

  /* Python's f"{v:.{k}f}": correctly rounded like toFixed, but a tie goes to the even digit
   * (toFixed rounds it away from zero). A tie is a finite decimal expansion, so toFixed(100)
   * shows it exactly. */
  function fixed(v, k) {
    var s = v.toFixed(k);
    var x = Math.abs(v).toFixed(100), dot = x.indexOf("."), rest = x.slice(dot + 1 + k);
    if (/^50*$/.test(rest)) {
      var kept = x.slice(0, k ? dot + 1 + k : dot);
      if ((kept.charCodeAt(kept.length - 1) - 48) % 2 === 0) s = (v < 0 ? "-" : "") + kept;
    }
    return s;
  }

  function grouped(digits) {  // "1234567" -> "1,234,567" (Python's f"{n:,}")
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  /* ``digits`` significant digits, never in exponent notation, trailing zeros dropped
   * (common.plain): 0.000123 -> "0.000123", 1527.3 -> "1527", 1048576 -> "1,048,576". */
  function plain(v, digits) {
    if (v === 0) return Object.is(v, -0) ? "-0" : "0";
    if (!isFinite(v)) return String(v);
    var e = Math.floor(Math.log10(Math.abs(v)));
    if (e >= digits - 1) {
      var n = fixed(v, 0);  // Python's round(): half to even
      return n.replace("-", "").length >= 5 ? grouped(n) : n;
    }
    var s = fixed(v, digits - 1 - e);
    return s.indexOf(".") >= 0 ? s.replace(/\.?0+$/, "") : s;
  }

  /* Bytes to three significant digits (common.human_bytes): "1.05 MB", or "1 MiB" with binary. */
  function humanBytes(v, binary) {
    var units = binary ? ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] : ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    var step = binary ? 1024 : 1000, i = 0;
    while (i < units.length - 1) {
      var size = Math.abs(v);
      if (size < step && (size < 0.99 * step || Math.abs(parseFloat(plain(v, 3).replace(/,/g, ""))) < step)) break;
      v /= step;
      i++;
    }
    return plain(v, 3) + " " + units[i];
  }

  var SUBUNITS = [[1, ""], [1e-3, "m"], [1e-6, "µ"], [1e-9, "n"]];

  function scaled(v, unit) {  // common._scaled: seconds and joules with m/µ/n prefixes
    for (var j = 0; j < SUBUNITS.length; j++) {
      if (Math.abs(v) >= SUBUNITS[j][0]) return plain(v / SUBUNITS[j][0], 4) + " " + SUBUNITS[j][1] + unit;
    }
    return v === 0 ? "0 " + unit : plain(v / 1e-9, 4) + " n" + unit;
  }

  /* A column's number as html_values.formatter writes it: ``how`` is the quantity's format. */
  function number(v, how, digits, binary, isInt) {
    if (how === "bytes") return humanBytes(v, binary);
    if (how === "float" || how === "ratio") return plain(v, digits);
    if (how === "seconds") return scaled(v, "s");
    if (how === "joules") return scaled(v, "J");
    if (how === "rate") return plain(v, 4) + "/s";
    return isInt ? grouped(String(v)) : plain(v, 4);  // count, int: exact
  }

  /* The totals (html.py's _totals): the exact value (common.show_exact), the readable one
   * (common.show_human) with SI prefixes or byte units, each marked where it is a bound. */
  var MARKS = { lower: "≥", upper: "≤", unknown: "~" };
  var PREFIXES = [[1e18, "E"], [1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];

  function marked(text, bound) {  // common.marked
    if (!bound || text === "-" || text === "") return text;
    return /^[0-9-]/.test(text) ? MARKS[bound] + text : text + "?";
  }

  function siCount(v) {  // common.human: 724406816 -> "724.4M"
    var size = Math.abs(v);
    for (var i = 0; size >= 1e3 && i < PREFIXES.length; i++) {
      if (size >= PREFIXES[i][0]) return fixed(v / PREFIXES[i][0], 1) + PREFIXES[i][1];
    }
    return plain(v, 4);
  }

  function showExact(v, how, digits, isFloat) {
    if (how === "bytes") return isFloat ? plain(v, 4) : grouped(String(v));
    return number(v, how, digits, false, !isFloat);
  }

  function showHuman(v, how, binary) {
    return how === "count" ? siCount(v) : how === "bytes" ? humanBytes(v, binary) : "";
  }

  /* rows: key, format, digits, value, mark, float, then label, group, unit, convention where they
   * are not the conventions table's (html.py's _total_data). */
  function totalRows(rows, binary, conventions) {
    var out = [], group = null;
    rows.forEach(function (r) {
      var c = r.length > 6 ? [r[0], r[6], r[8], "", r[7], r[9]] : conventions[r[0]];  // key, label, unit, -, group, convention
      if (c[4] !== group) {
        group = c[4];
        out.push('<tr class="az-group-row"><th colspan="5">' + esc(group) + "</th></tr>");
      }
      var v = r[3], exact, readable;
      if (Array.isArray(v)) { exact = v[0]; readable = v[1]; }  // written by the Python side
      else {
        exact = esc(marked(showExact(v, r[1], r[2], r[5]), r[4]));
        readable = esc(marked(showHuman(v, r[1], binary), r[4]));
      }
      var key = esc(r[0]);
      out.push('<tr data-q="' + key + '"><td title="' + key + '">' + esc(c[1]) + '</td><td class="num az-value">' + exact +
        '</td><td class="num az-human">' + readable + "</td><td>" + esc(c[2]) + '</td><td class="az-conv">' + esc(c[5]) + "</td></tr>");
    });
    return out.join("");
  }

  function unpack(rows) {  // html.py's _packed: rows of text in one string, or the rows themselves
    return typeof rows === "string" ? rows.split("\x1e").map(function (r) { return r.split("\x1f"); }) : rows;
  }

  function textRows(rows) {  // rows of text cells (html.py's _text_table)
    return rows.map(function (r) { return "<tr><td>" + r.map(esc).join("</td><td>") + "</td></tr>"; }).join("");
  }

  /* One column's <td> cells (html_values.cell): {v: values, f: format, d: digits, t: "i" ints,
   * "r" floats, "s" no number} for the script to write, or {h: cells} written by the Python side;
   * ``b``: bytes in KiB/MiB (--binary-units). */
  function cells(col, b) {
    if (col.h) return col.h;
    var how = col.f, d = col.d, isInt = col.t === "i", exact = how === "count" || how === "int";
    return col.v.map(function (v) {
      if (v === null) return "<td>-</td>";
      if (typeof v === "string") return "<td>" + esc(v) + "</td>";
      if (typeof v === "bigint") return "<td>" + grouped(String(v)) + "</td>";  // an exact count beyond 2**53
      if (Array.isArray(v)) {  // per dim (receptive field): 11x11, sorted by the largest
        return '<td data-v="' + Math.max.apply(null, v) + '">' + v.map(function (x) { return grouped(String(x)); }).join("x") + "</td>";
      }
      if (isInt && exact) return "<td>" + grouped(String(v)) + "</td>";
      return '<td data-v="' + v + '">' + number(v, how, d, b, isInt) + "</td>";
    });
  }

  /* A value as the text formats' readable column shows it: SI prefixes for counts
   * (common.human), kB/MB for bytes (common.human_bytes), ms/µs/ns for seconds. */
  function human(v, unit) {
    if (v === null || v === undefined) return "-";
    if (typeof v !== "number") return String(v);
    if (unit === "byte") return humanBytes(v, false);
    if (unit === "s") return scaled(v, "s");
    return siCount(v) + (unit ? " " + unit : "");
  }

  /* --- tables ------------------------------------------------------------------ */
  function shapes(out) {  // common.fmt of output shapes: "1x64x56x56, 1x64" (text when the Python side wrote it)
    return typeof out === "string" ? out : out.map(function (s) { return s.join("x"); }).join(", ");
  }

  /* The layer table's header and column-group switches (html.py's _layers_table): a column's
   * label, group and title from t.head, else from the conventions row of its quantity. */
  function layerHead(t, conventions, table, switches) {
    var gid = {}, groups = [], shown = {}, hidden = new Set(t.hide);
    var ths = t.keys.map(function (k, i) {
      var c = conventions[k], h = t.head[i] || [c[1], c[4], k + " (" + c[2] + "): " + c[5]];
      if (!(h[1] in gid)) { gid[h[1]] = groups.length; groups.push(h[1]); }
      if (!hidden.has(i)) shown[h[1]] = true;
      return '<th data-g="' + gid[h[1]] + '"' + (hidden.has(i) ? ' data-hide="1"' : "") + ' title="' + esc(h[2]) + '">' + esc(h[0]) + "</th>";
    });
    table.tHead.rows[0].innerHTML = "<th>#</th><th>layer</th><th>op</th><th>output</th>" + ths.join("");
    switches.innerHTML = "columns: " + groups.map(function (g) {
      return '<label><input type="checkbox" class="az-group" value="' + gid[g] + '" ' + (shown[g] ? "checked" : "") + "> " + esc(g) + "</label>";
    }).join("");
  }

  /* The layer table's rows, as html.py's _layers_table writes them for a notebook fragment. */
  function layerRows(t, binary) {
    var cols = t.columns.map(function (c) { return cells(c, binary); }), n = t.name.length, out = new Array(n);
    for (var i = 0; i < n; i++) {
      var row = '<tr data-i="' + i + '" data-search="' + esc((t.name[i] + " " + t.op[i] + " " + t.scope[i]).toLowerCase()) +
        '"' + (i >= t.page ? ' class="az-hidden"' : "") + "><td>" + i + "</td><td>" + esc(t.name[i]) + "</td><td>" +
        esc(t.op[i]) + "</td><td>" + esc(shapes(t.output[i])) + "</td>";
      for (var c = 0; c < cols.length; c++) row += cols[c][i];
      out[i] = row + "</tr>";
    }
    return out.join("");
  }

  /* The module tree's rows (html.py's _modules_table): folded below depth ``open``. */
  function moduleRows(t, binary) {
    var cols = t.columns.map(function (c) { return cells(c, binary); }), n = t.path.length, out = new Array(n);
    for (var k = 0; k < n; k++) {
      var path = t.path[k], d = t.depth[k];
      var kids = k + 1 < n && t.depth[k + 1] > d && t.path[k + 1].indexOf(path + ".") === 0;
      var state = [];
      if (kids && d >= t.open) state.push("az-folded");
      if (d > t.open) state.push("az-hidden");
      var name = d > 1 ? path.slice(path.lastIndexOf(".") + 1) : path;
      var row = '<tr data-depth="' + d + '" data-path="' + esc(path) + '"' + (state.length ? ' class="' + state.join(" ") + '"' : "") +
        '><td class="az-tree" style="padding-left:' + fixed((d - 1) * 1.2 + 0.3, 1) + 'em">' +
        (kids ? '<button class="az-fold" aria-label="fold">▾</button>' : '<span class="az-leaf"></span>') +
        '<span title="' + esc(path) + '">' + esc(name) + "</span></td><td>" + t.layers[k] + "</td>";
      for (var c = 0; c < cols.length; c++) row += cols[c][k];
      out[k] = row + "</tr>";
    }
    return out.join("");
  }

  var SAFE = BigInt(Number.MAX_SAFE_INTEGER) + BigInt(1);  // 2**53: larger integers stay BigInt

  /* html_values.little_endian_base64: "q" int64 (a number, or a BigInt beyond 2**53) or "d" float64. */
  function decode(type, text) {
    var raw = atob(text), bytes = new Uint8Array(raw.length), out = new Array(raw.length / 8);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    var view = new DataView(bytes.buffer);
    for (var j = 0; j < out.length; j++) {
      if (type === "d") { out[j] = view.getFloat64(j * 8, true); continue; }
      var big = view.getBigInt64(j * 8, true);
      out[j] = big <= SAFE && big >= -SAFE ? Number(big) : big;
    }
    return out;
  }

  /* A table's columns as html_values.script_columns writes them: ["q" | "d", kind, format,
   * digits, base64 of int64 or float64 values], ["v", ... values], ["k", ... one value
   * throughout], ["=", ... the values of an earlier column], ["h", cells]. */

  function resolve(t, n) {
    var cols = t.columns.map(function (c) {
      return c[0] === "h" ? { h: c[1] } : { t: c[1], f: c[2], d: c[3], v: c[0] === "q" || c[0] === "d" ? decode(c[0], c[4]) : c[4] };
    });
    t.columns.forEach(function (c, i) {
      if (c[0] === "k") cols[i].v = new Array(n).fill(c[4]);
      else if (c[0] === "=") cols[i].v = cols[c[4]].v;
    });
    t.columns = cols;
    return t;
  }

  function fill(table, rows) {
    if (table) table.tBodies[0].innerHTML = rows;
  }

  function cellValue(td) {
    if (!td) return null;
    var v = td.getAttribute("data-v");
    if (v !== null) return parseFloat(v);
    var t = td.textContent.trim();
    var n = t.replace(/^[≥≤~]/, "").replace(/,/g, "");
    if (/^-?\d+(\.\d+)?$/.test(n)) return parseFloat(n);
    return t === "-" || t === "" ? null : t.toLowerCase();
  }

  /* A sortable table with an optional filter and pages (data-page rows at a time, so a large
   * model's table lays out only one page; rows of other pages are display:none). */
  function initTable(table, section) {
    var body = table.tBodies[0];
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    var order = Array.prototype.slice.call(body.rows);
    var size = parseInt(table.getAttribute("data-page") || "0", 10) || Infinity;
    var input = section ? section.querySelector(".az-filter") : null;
    var count = section ? section.querySelector(".az-count") : null;
    var pager = section ? section.querySelector(".az-pager") : null;
    var noun = table.querySelector("tr[data-i]") ? " layers" : " rows";
    var texts = new Map(order.map(function (r) {
      return [r, r.getAttribute("data-search") || r.textContent.toLowerCase()];
    }));
    var words = [], page = 0, matching = order, listeners = [];

    function render() {
      matching = order.filter(function (r) {
        var t = texts.get(r);
        return words.every(function (w) { return t.indexOf(w) >= 0; });
      });
      var pages = Math.max(1, Math.ceil(matching.length / size));
      page = Math.min(page, pages - 1);
      var shown = new Set(matching.slice(page * size, (page + 1) * size));
      order.forEach(function (r) { r.classList.toggle("az-hidden", !shown.has(r)); });
      if (count) {
        var text = matching.length + " of " + order.length + noun;
        if (pages > 1) text += ", rows " + (page * size + 1) + "–" + Math.min((page + 1) * size, matching.length);
        count.textContent = text;
      }
      if (pager) {
        pager.querySelector(".az-prev").disabled = page === 0;
        pager.querySelector(".az-next").disabled = page >= pages - 1;
      }
      var filtered = words.length ? matching : null;
      listeners.forEach(function (f) { f(filtered); });
    }

    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;  // sortable from the keyboard too: Enter or Space
      th.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); th.click(); }
      });
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var sign = dir === "ascending" ? 1 : -1;
        var keyed = order.map(function (r) { return [cellValue(r.cells[col]), r]; });
        keyed.sort(function (a, b) {  // missing values last in both directions
          var x = a[0], y = b[0];
          if (x === null || y === null) return (x === null) - (y === null);
          if (typeof x !== typeof y) return typeof x === "number" ? -1 : 1;
          return (x < y ? -1 : x > y ? 1 : 0) * sign;
        });
        order = keyed.map(function (k) { return k[1]; });
        table.removeChild(body);  // reorder off the document: one layout, not one per row
        order.forEach(function (r) { body.appendChild(r); });
        table.appendChild(body);
        page = 0;
        render();
      });
    });
    if (input) {
      input.addEventListener("input", function () {
        words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
        page = 0;
        render();
      });
    }
    if (pager) {
      pager.querySelector(".az-prev").addEventListener("click", function () { page--; render(); });
      pager.querySelector(".az-next").addEventListener("click", function () { page++; render(); });
    }
    if (size !== Infinity) render();
    return {
      onFilter: function (f) { listeners.push(f); },  // f(matching rows, or null when unfiltered)
      reveal: function (row) {  // show a row wherever it is: clear a filter hiding it, turn to its page
        if (matching.indexOf(row) < 0 && input) { input.value = ""; words = []; render(); }
        var i = matching.indexOf(row);
        if (i >= 0 && size !== Infinity) { page = Math.floor(i / size); render(); }
      },
    };
  }

  var reports = 0;

  function initGroups(root) {
    // hide a group's columns with one generated rule per column position: no per-cell work
    var table = root.querySelector("table.az-layers");
    var boxes = root.querySelectorAll("input.az-group");
    if (!table || !boxes.length) return;
    var id = "az" + (++reports);
    root.setAttribute("data-az", id);
    var style = document.createElement("style");
    root.appendChild(style);
    var heads = table.tHead.rows[0].cells;
    function apply() {
      var off = {};
      boxes.forEach(function (b) { if (!b.checked) off[b.value] = true; });
      var rules = [];
      Array.prototype.forEach.call(heads, function (th, i) {
        if (off[th.getAttribute("data-g")] || th.hasAttribute("data-hide")) {
          rules.push('.az-report[data-az="' + id + '"] table.az-layers tr > :nth-child(' + (i + 1) + ")");
        }
      });
      style.textContent = rules.length ? rules.join(",") + "{display:none}" : "";
    }
    boxes.forEach(function (b) {
      b.addEventListener("change", function () {  // a group switched on shows all its columns
        Array.prototype.forEach.call(heads, function (th) {
          if (th.getAttribute("data-g") === b.value) th.removeAttribute("data-hide");
        });
        apply();
      });
    });
    apply();
  }

  function initTree(table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function refresh() {
      var cut = Infinity;
      rows.forEach(function (r) {
        var d = parseInt(r.getAttribute("data-depth"), 10);
        if (d > cut) { r.classList.add("az-hidden"); return; }
        cut = Infinity;
        r.classList.remove("az-hidden");
        if (r.classList.contains("az-folded")) cut = d;
      });
    }
    rows.forEach(function (r) {  // folded below data-open already in the page
      var b = r.querySelector(".az-fold");
      if (b) b.addEventListener("click", function () { r.classList.toggle("az-folded"); refresh(); });
    });
  }

  /* --- graph ------------------------------------------------------------------- */
  function colourScale(values, kind) {
    if (kind === "category") {
      var seen = {}, next = 0;
      values.forEach(function (v) {
        if (v !== null && !(v in seen)) seen[v] = CATEGORY[v] || OTHER[next++ % OTHER.length];
      });
      return { colour: function (v) { return v === null ? NONE : seen[v]; }, legend: seen };
    }
    var pos = values.filter(function (v) { return typeof v === "number" && v > 0; });
    if (!pos.length) return { colour: function () { return NONE; }, legend: null };
    var lo = Math.min.apply(null, pos), hi = Math.max.apply(null, pos);
    var log = hi / lo > 100;
    var f = log ? function (v) { return Math.log(v); } : function (v) { return v; };
    var a = f(lo), b = f(hi);
    return {
      colour: function (v) {
        if (typeof v !== "number" || v <= 0) return NONE;
        var t = b > a ? (f(v) - a) / (b - a) : 1;
        return VIRIDIS[Math.max(0, Math.min(VIRIDIS.length - 1, Math.round(t * (VIRIDIS.length - 1))))];
      },
      legend: { lo: lo, hi: hi, log: log },
    };
  }

  function textColour(fill) {
    var n = parseInt(fill.slice(1), 16);
    var lum = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
    return lum < 140 ? "#ffffff" : "#1b1f24";
  }

  function initGraph(root, graph, tables, layers, conventions) {
    function numbers(key) {  // a metric the layer table holds: its numbers (html_graph.graph_view's values)
      var i = layers ? layers.keys.indexOf(key) : -1;
      var col = i >= 0 ? layers.columns[i].v : null;  // (resolved)
      return col ? col.map(function (v) { return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null; }) : [];
    }
    /* The nodes as columns (html_graph.graph_view); where each node is one layer of the page's
     * layer table, their label, op and layer index are the table's. */
    var cols = graph.nodes, count = cols.rank.length;
    var nodes = [];
    for (var n = 0; n < count; n++) {
      nodes.push({
        label: cols.label ? cols.label[n] : layers.name[n], op: cols.op ? cols.op[n] : layers.op[n],
        layers: cols.layers ? cols.layers[n] : n, x: cols.x[n], rank: cols.rank[n],
      });
    }
    var box = root.querySelector(".az-graph");
    var select = root.querySelector("select.az-metric");
    if (!box || !select || !nodes.length) return;
    var width = 0, height = 0;
    var px = nodes.map(function (n) {
      var x = MARGIN + n.x * (NODE_W + GAP_X), y = MARGIN + n.rank * (NODE_H + GAP_Y);
      width = Math.max(width, x + NODE_W + MARGIN);
      height = Math.max(height, y + NODE_H + MARGIN);
      return [x, y];
    });
    var parts = ['<svg width="' + width + '" height="' + height + '" viewBox="0 0 ' + width + " " + height + '">'];
    graph.edges.forEach(function (e) {
      var a = px[e[0]], b = px[e[1]];
      var x1 = a[0] + NODE_W / 2, y1 = a[1] + NODE_H, x2 = b[0] + NODE_W / 2, y2 = b[1];
      var my = (y1 + y2) / 2;
      parts.push('<path class="az-edge" d="M' + x1 + "," + y1 + " C" + x1 + "," + my + " " + x2 + "," + my + " " + x2 + "," + y2 + '"/>');
    });
    nodes.forEach(function (n, i) {
      var label = n.label.length > 24 ? "…" + n.label.slice(-23) : n.label;  // the innermost scope names it
      parts.push('<g class="az-node" data-node="' + i + '" transform="translate(' + px[i][0] + "," + px[i][1] + ')">' +
        '<rect width="' + NODE_W + '" height="' + NODE_H + '" rx="4" fill="' + NONE + '"/>' +
        '<text x="6" y="15">' + esc(label) + "</text><title></title></g>");
    });
    parts.push("</svg>");
    box.innerHTML = parts.join("");
    var svg = box.querySelector("svg");
    var groups = svg.querySelectorAll("g.az-node");
    var metrics = {}, options = [], group = null;
    graph.metrics.forEach(function (m) {  // a key alone: a quantity of the layer table (html_graph.colour_metrics)
      if (typeof m === "string") m = { key: m, label: conventions[m][1], unit: conventions[m][2], kind: "number", group: "every quantity" };
      metrics[m.key] = m;
      if (m.group !== group) {
        options.push((group ? "</optgroup>" : "") + '<optgroup label="' + esc(m.group) + '">');
        group = m.group;
      }
      options.push('<option value="' + esc(m.key) + '">' + esc(m.label) + "</option>");
    });
    select.innerHTML = options.join("") + (group ? "</optgroup>" : "");

    function recolour() {
      var m = metrics[select.value];
      var vals = graph.values[select.value] || numbers(select.value);
      var scale = colourScale(vals, m.kind);
      groups.forEach(function (g, i) {
        var v = vals[i] === undefined ? null : vals[i];
        var fill = scale.colour(v);
        g.querySelector("rect").setAttribute("fill", fill);
        g.querySelector("text").setAttribute("fill", textColour(fill));
        g.querySelector("title").textContent = nodes[i].label + " (" + nodes[i].op + ")\n" + m.label + ": " +
          (m.kind === "category" ? (v === null ? "-" : v) : human(v, m.unit));
      });
      var legend = root.querySelector(".az-legend");
      if (!legend) return;
      if (m.kind === "category") {
        legend.innerHTML = Object.keys(scale.legend).map(function (k) {
          return '<span class="az-swatch" style="background:' + scale.legend[k] + '"></span> ' + esc(k);
        }).join(" ");
      } else if (scale.legend) {
        legend.innerHTML = esc(human(scale.legend.lo, m.unit)) + ' <span class="az-ramp" style="background:linear-gradient(to right,' +
          VIRIDIS.join(",") + ')"></span> ' + esc(human(scale.legend.hi, m.unit)) + (scale.legend.log ? " (log scale)" : "") +
          ' <span class="az-swatch" style="background:' + NONE + '"></span> none';
      } else {
        legend.textContent = "no values";
      }
    }

    var zoom = 1;
    root.querySelectorAll("button.az-zoom").forEach(function (b) {
      b.addEventListener("click", function () {
        zoom = Math.max(0.1, Math.min(4, zoom * parseFloat(b.getAttribute("data-zoom"))));
        svg.setAttribute("width", width * zoom);
        svg.setAttribute("height", height * zoom);
      });
    });
    svg.addEventListener("click", function (ev) {  // a node shows its layer in the table
      var g = ev.target.closest ? ev.target.closest("g.az-node") : null;
      if (!g) return;
      groups.forEach(function (x) { x.classList.remove("az-picked"); });
      g.classList.add("az-picked");
      var layer = nodes[parseInt(g.getAttribute("data-node"), 10)].layers;
      var first = Array.isArray(layer) ? layer[0] : layer;
      root.querySelectorAll("table.az-layers tr.az-picked").forEach(function (r) { r.classList.remove("az-picked"); });
      var table = root.querySelector("table.az-layers");
      var row = table ? table.querySelector('tr[data-i="' + first + '"]') : null;
      if (!row) return;
      if (tables.get(table)) tables.get(table).reveal(row);
      row.classList.add("az-picked");
      row.scrollIntoView({ block: "center" });
    });
    select.addEventListener("change", recolour);
    var layerTable = root.querySelector("table.az-layers");
    if (layerTable && tables.get(layerTable)) {
      tables.get(layerTable).onFilter(function (rows) {  // the layer filter dims the nodes it leaves out
        var keep = rows ? new Set(rows.map(function (r) { return parseInt(r.getAttribute("data-i"), 10); })) : null;
        groups.forEach(function (g, i) {
          var layers = nodes[i].layers, ids = Array.isArray(layers) ? layers : [layers];
          var on = !keep || ids.some(function (k) { return keep.has(k); });
          g.classList.toggle("az-dim", !on);
        });
      });
    }
    recolour();
  }

  function initReport(root) {
    root.setAttribute("data-init", "1");
    var dataEl = root.querySelector("script.az-data");
    var data = dataEl ? JSON.parse(dataEl.textContent) : {};
    var conventions = {};  // key -> [key, label, unit, aggregate, group, convention]
    if (data.conventions) data.conventions = unpack(data.conventions);
    (data.conventions || []).forEach(function (r) { conventions[r[0]] = r; });
    if (data.totals) fill(root.querySelector("table.az-totals"), totalRows(data.totals, data.binary, conventions));
    if (data.conventions) fill(root.querySelector("table.az-conventions-table"), textRows(data.conventions));
    if (data.layers) layerHead(data.layers, conventions, root.querySelector("table.az-layers"), root.querySelector(".az-groups"));
    if (data.layers) fill(root.querySelector("table.az-layers"), layerRows(resolve(data.layers, data.layers.name.length), data.binary));
    if (data.modules) fill(root.querySelector("table.az-modules"), moduleRows(resolve(data.modules, data.modules.path.length), data.binary));
    var tables = new Map();
    root.querySelectorAll("table.az-sortable").forEach(function (t) {
      tables.set(t, initTable(t, t.closest("section, details.az-section")));
    });
    initGroups(root);
    root.querySelectorAll("table.az-modules").forEach(initTree);
    if (data.graph) initGraph(root, data.graph, tables, data.layers, conventions);
  }

  document.querySelectorAll(".az-report:not([data-init])").forEach(initReport);
})();
