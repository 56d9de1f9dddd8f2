/* The compare page's log2-ratio chart: every test's log2(new / old), sorted, drawn
 * with uPlot.  Dragging across it keeps only the tests whose log2 ratio is in the
 * dragged range: table rows outside it are hidden, the counts and the geometric-mean
 * row are recomputed, and the URL (zlo, zhi) and the CSV link follow, so that the
 * URL reproduces the view.  "Copy as CSV" copies the rows shown.
 * Names from reports are only ever set with textContent.  The chart element carries
 * data-state ("drawn") and data-shown (rows shown) for tests.
 */
(function () {
  "use strict";

  var dataEl = document.getElementById("compare-chart");
  var chartEl = document.getElementById("ratio-chart");
  var table = document.getElementById("compare-table");
  if (!dataEl || !chartEl || !table) return;
  var chart = JSON.parse(dataEl.textContent);
  var points = chart.points; // [log2, test, status], sorted by log2
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var statusEl = document.getElementById("compare-status");
  var zoom = { lo: chart.zoom[0], hi: chart.zoom[1] };
  var plot = null;
  var settling = true;

  function fmt(v, digits) { return v === null ? "—" : v.toFixed(digits); }

  function inZoom(tr) {
    if (zoom.lo === null && zoom.hi === null) return true;
    if (!tr.dataset.log2) return false;
    var v = parseFloat(tr.dataset.log2);
    return (zoom.lo === null || v >= zoom.lo) && (zoom.hi === null || v <= zoom.hi);
  }

  function query() {
    var params = new URLSearchParams(window.location.search);
    params.delete("format");
    if (zoom.lo === null) params.delete("zlo"); else params.set("zlo", String(zoom.lo));
    if (zoom.hi === null) params.delete("zhi"); else params.set("zhi", String(zoom.hi));
    return params;
  }

  function apply() {
    var counts = {}, shown = 0, logOld = 0, logNew = 0, n = 0;
    rows.forEach(function (tr) {
      var visible = inZoom(tr);
      tr.hidden = !visible;
      if (!visible) return;
      shown++;
      counts[tr.dataset.status] = (counts[tr.dataset.status] || 0) + 1;
      var a = parseFloat(tr.dataset.old), b = parseFloat(tr.dataset.new);
      if (a > 0 && b > 0) { logOld += Math.log(a); logNew += Math.log(b); n++; }
    });
    document.querySelectorAll("#compare-counts [data-status]").forEach(function (el) {
      var strong = el.querySelector("strong");
      strong.textContent = String(counts[el.dataset.status] || 0);
    });
    var geo = function (k) { return document.querySelector('#geomean-row [data-geo="' + k + '"]'); };
    var ratio = n ? Math.exp((logNew - logOld) / n) : null;
    geo("tests").textContent = String(n);
    geo("old").textContent = fmt(n ? Math.exp(logOld / n) : null, 4);
    geo("new").textContent = fmt(n ? Math.exp(logNew / n) : null, 4);
    geo("ratio").textContent = fmt(ratio, 4);
    geo("delta_pct").textContent = fmt(ratio === null ? null : 100 * (ratio - 1), 2);
    var params = query();
    history.replaceState(null, "", "?" + params.toString());
    document.getElementById("view-link").href = "?" + params.toString();
    params.set("format", "csv");
    document.getElementById("csv-link").href = "?" + params.toString();
    ["zlo", "zhi"].forEach(function (k) {
      var input = document.querySelector('#compare-form input[name="' + k + '"]');
      if (input) input.value = zoom[k === "zlo" ? "lo" : "hi"] === null ? "" : String(zoom[k === "zlo" ? "lo" : "hi"]);
    });
    statusEl.textContent = shown + " of " + rows.length + " tests shown";
    chartEl.dataset.shown = String(shown);
  }

  function onScale(u, key) {
    if (settling || key !== "x" || !points.length) return;
    var min = Math.max(0, Math.ceil(u.scales.x.min)), max = Math.min(points.length - 1, Math.floor(u.scales.x.max));
    if (min <= 0 && max >= points.length - 1) { zoom.lo = zoom.hi = null; }
    else if (min > max) return; // no test in the dragged range: keep the table as it is
    else { zoom.lo = points[min][0]; zoom.hi = points[max][0]; }
    apply();
  }

  function indexOf(value, last) {
    // First (or last) point whose log2 is >= (<=) value.
    if (value === null) return last ? points.length - 1 : 0;
    for (var i = 0; i < points.length; i++) {
      var j = last ? points.length - 1 - i : i;
      if (last ? points[j][0] <= value : points[j][0] >= value) return j;
    }
    return last ? 0 : points.length - 1;
  }

  function draw() {
    var xs = points.map(function (_, i) { return i; });
    var ys = points.map(function (p) { return p[0]; });
    var zero = points.map(function () { return 0; });
    var width = Math.max(300, chartEl.clientWidth);
    var opts = {
      width: width,
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: false } },
      axes: [{ label: "tests, sorted by ratio" }, { label: "log2(new / old)", size: 60 }],
      series: [{}, { label: "log2 ratio", stroke: "#1f77b4", width: 1.5, points: { show: points.length <= 200, size: 4 } },
        { label: "no change", stroke: "#999", width: 1, dash: [4, 4], points: { show: false } }],
      hooks: { setScale: [onScale] },
    };
    if (plot) plot.destroy();
    chartEl.replaceChildren();
    // uPlot reports scale changes after a microtask: those of building the chart and
    // of restoring the URL's zoom are not a person's drag, and must not reset it.
    settling = true;
    chartEl.dataset.state = "drawing";
    plot = new uPlot(opts, [xs, ys, zero], chartEl);
    if ((zoom.lo !== null || zoom.hi !== null) && points.length) {
      plot.setScale("x", { min: indexOf(zoom.lo, false), max: indexOf(zoom.hi, true) });
    }
    setTimeout(function () {
      settling = false;
      chartEl.dataset.state = "drawn";
    }, 0);
  }

  document.getElementById("zoom-reset").addEventListener("click", function () {
    zoom.lo = zoom.hi = null;
    if (plot && points.length) plot.setScale("x", { min: 0, max: points.length - 1 });
    apply();
  });

  function csvCell(text) {
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  document.getElementById("copy-csv").addEventListener("click", function () {
    var lines = [["test", "old", "new", "delta", "delta_pct", "ratio", "p_value", "status"].join(",")];
    rows.forEach(function (tr) {
      if (tr.hidden) return;
      var data = Array.prototype.filter.call(tr.cells, function (td) { return !td.classList.contains("pick"); });
      var cells = data.map(function (td, i) {
        var text = i === 1 || i === 2 ? (td.firstChild ? td.firstChild.textContent.trim() : "") : td.textContent.trim();
        return csvCell(text === "—" ? "" : text);
      });
      lines.push(cells.join(","));
    });
    var text = lines.join("\n") + "\n";
    navigator.clipboard.writeText(text).then(
      function () { statusEl.textContent = "Copied " + (lines.length - 1) + " rows as CSV."; },
      function () { statusEl.textContent = "Could not copy: use Download CSV."; }
    );
  });

  // Logged-in users choose rows to track in a regression (a POST form below the table).
  var pick = document.getElementById("pick-regressed");
  if (pick) {
    pick.addEventListener("click", function () {
      var n = 0;
      rows.forEach(function (tr) {
        var box = tr.querySelector('input[name="test"]');
        if (box && !tr.hidden && tr.dataset.status === "regressed") { box.checked = true; n++; }
      });
      statusEl.textContent = "Chose " + n + " regressed rows.";
    });
  }

  var resizeTimer = null;
  var drawnWidth = chartEl.clientWidth;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (chartEl.clientWidth === drawnWidth) return; // a taller window needs no redraw
      drawnWidth = chartEl.clientWidth;
      draw();
    }, 200);
  });
  draw();
  apply();
})();
