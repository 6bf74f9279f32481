/* Long tables a reader can sort and filter, offline.
 *
 * kit.present.table.table() marks a table that shows more rows than report.interactive_rows
 * with data-kit-interactive and the words of the report language (data-kit-filter: the text
 * box's placeholder; data-kit-count: "{shown} / {total}"; data-kit-sort: the headers' hint).
 * kit.publish.html inlines this file once per page: nothing is fetched from the network.
 *
 * Click a header (or Enter / Space on it) to sort by that column, again to reverse: numbers
 * as numbers (1,234  12.5%  -3), anything else in the page language's order; a missing
 * value ("–") stays last. Type in the box to keep the rows holding that text (any column,
 * the full text of a cut cell included).
 */
(function () {
  "use strict";
  var MISSING = "\u2013";
  var NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;

  function cellText(cell) {
    return (cell.getAttribute("title") || cell.textContent || "").trim();
  }

  function toNumber(text) {
    var t = text.replace(/[,\s%\u00a0]/g, "");
    if (t === "\u221e") { return Infinity; }
    if (t === "-\u221e") { return -Infinity; }
    return NUMBER.test(t) ? parseFloat(t) : NaN;
  }

  function rowText(row) {
    if (row.kitText === undefined) {
      var parts = [];
      for (var i = 0; i < row.cells.length; i++) { parts.push(cellText(row.cells[i])); }
      row.kitText = parts.join("\n").toLowerCase();
    }
    return row.kitText;
  }

  function sortBy(table, th, col) {
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) { heads[h].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir);
    var numeric = th.classList.contains("num");
    var sign = dir === "ascending" ? 1 : -1;
    var collator = new Intl.Collator(document.documentElement.lang || undefined, {numeric: true});
    var body = table.tBodies[0];
    var keyed = Array.prototype.map.call(body.rows, function (row, i) {
      var text = row.cells[col] ? cellText(row.cells[col]) : "";
      var missing = text === "" || text === MISSING;
      var n = numeric ? toNumber(text) : NaN;
      return {row: row, i: i, text: text, n: n, missing: missing || (numeric && isNaN(n))};
    });
    keyed.sort(function (a, b) {
      if (a.missing || b.missing) { return a.missing === b.missing ? a.i - b.i : (a.missing ? 1 : -1); }
      var c = numeric ? (a.n < b.n ? -1 : a.n > b.n ? 1 : 0) : collator.compare(a.text, b.text);
      return c * sign || a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
  }

  function filter(table, query, count) {
    var q = query.trim().toLowerCase();
    var rows = table.tBodies[0].rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var hit = !q || rowText(rows[i]).indexOf(q) >= 0;
      rows[i].hidden = !hit;
      if (hit) { shown++; }
    }
    count.textContent = (table.getAttribute("data-kit-count") || "{shown} / {total}")
      .replace("{shown}", shown.toLocaleString()).replace("{total}", rows.length.toLocaleString());
  }

  function setup(table) {
    if (table.getAttribute("data-kit-ready") || !table.tHead || !table.tBodies.length) { return; }
    table.setAttribute("data-kit-ready", "1");
    var wrap = table.parentNode;
    var tools = document.createElement("div");
    tools.className = "kit-table-tools";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = table.getAttribute("data-kit-filter") || "";
    input.setAttribute("aria-label", input.placeholder);
    var count = document.createElement("span");
    count.setAttribute("aria-live", "polite");
    tools.appendChild(input);
    tools.appendChild(count);
    wrap.parentNode.insertBefore(tools, wrap);
    input.addEventListener("input", function () { filter(table, input.value, count); });
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      if (!th.title) { th.title = table.getAttribute("data-kit-sort") || ""; }
      th.addEventListener("click", function () { sortBy(table, th, col); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, col); }
      });
    });
    filter(table, "", count);
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table.kit-table[data-kit-interactive]"), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
