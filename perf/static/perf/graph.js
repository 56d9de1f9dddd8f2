/* The graph page: fetches series as JSON and draws them with uPlot.
 *
 * Data never reaches the DOM as HTML: every name or value from a report is set
 * with textContent, and the page configuration arrives through json_script.
 * The chart element carries data-points (points drawn in the visible range),
 * data-markers (change markers drawn), data-suspects (of which suspects) and
 * data-state for tests.
 */
(function () {
  "use strict";

  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939"];

  var configEl = document.getElementById("graph-config");
  var chartEl = document.getElementById("chart");
  if (!configEl || !chartEl) return;
  var config = JSON.parse(configEl.textContent);
  var form = document.getElementById("graph-options");
  var info = document.getElementById("hover-info");
  var legend = document.getElementById("graph-legend");
  var status = document.getElementById("graph-status");
  var plot = null;
  var data = null;
  var model = null;
  var before = null;

  var MEAN_COLOR = "#111111";
  var sampleCache = new Map();

  function median(values) {
    var v = values.filter(function (x) { return typeof x === "number"; }).sort(function (a, b) { return a - b; });
    if (!v.length) return null;
    var m = v.length >> 1;
    var out = v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
    return out > 0 ? out : null;
  }

  // The y axis' title: the unit the series share ("s", "bytes"), or "× median".
  function yLabel() {
    if (config.normalize_by_median) return "ratio to the series' median";
    var units = new Set(data.series.map(function (s) { return s.unit || ""; }));
    var metrics = new Set(data.series.map(function (s) { return s.metric; }));
    var unit = units.size === 1 ? Array.from(units)[0] : "";
    var metric = metrics.size === 1 ? Array.from(metrics)[0] : "value";
    return unit ? metric + " (" + unit + ")" : metric;
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function readOptions() {
    if (!form) return;
    config.agg = form.elements.agg.value;
    config.smooth = form.elements.smooth.value;
    config.window = Math.max(2, Math.min(100, parseInt(form.elements.window.value, 10) || 5));
    config.x = form.elements.x.value;
    config.log = form.elements.log.checked;
    config.samples = form.elements.samples.checked;
    config.normalize_by_median = form.elements.normalize_by_median.checked;
    config.hide_lineplot = form.elements.hide_lineplot.checked;
    config.show_stddev = form.elements.show_stddev.checked;
  }

  function syncUrl() {
    var params = new URLSearchParams();
    config.plots.forEach(function (p) { params.append("plot", p); });
    config.means.forEach(function (m) { params.append("mean", m); });
    (config.baselineRuns || []).forEach(function (b) { params.append("baseline." + b[0], String(b[1])); });
    params.set("agg", config.agg);
    params.set("smooth", config.smooth);
    params.set("window", String(config.window));
    params.set("x", config.x);
    if (config.log) params.set("log", "1");
    if (config.samples) params.set("samples", "1");
    if (config.normalize_by_median) params.set("normalize_by_median", "1");
    if (config.hide_lineplot) params.set("hide_lineplot", "1");
    if (config.show_stddev) params.set("show_stddev", "1");
    if (config.highlight) params.set("highlight", String(config.highlight));
    history.replaceState(null, "", "?" + params.toString());
    syncLinks();
  }

  // Keep the display options when a series is added or removed (those forms and
  // links were rendered with the options the page was loaded with).
  function syncLinks() {
    var names = ["agg", "smooth", "window", "x", "log", "samples", "normalize_by_median", "hide_lineplot", "show_stddev"];
    var values = { agg: config.agg, smooth: config.smooth, window: String(config.window),
      x: config.x, log: config.log ? "1" : "", samples: config.samples ? "1" : "",
      normalize_by_median: config.normalize_by_median ? "1" : "",
      hide_lineplot: config.hide_lineplot ? "1" : "",
      show_stddev: config.show_stddev ? "1" : "" };
    var add = document.getElementById("graph-add");
    if (add) {
      names.forEach(function (n) {
        var input = add.querySelector('input[type="hidden"][name="' + n + '"]');
        if (!values[n]) { if (input) input.remove(); return; }
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = n;
          add.appendChild(input);
        }
        input.value = values[n];
      });
    }
    document.querySelectorAll("a.remove-series").forEach(function (a) {
      var url = new URL(a.href, location.href);
      names.forEach(function (n) {
        if (values[n]) url.searchParams.set(n, values[n]); else url.searchParams.delete(n);
      });
      a.href = url.search || "?";
    });
  }

  function fetchData() {
    if (!config.plots.length && !config.means.length) {
      chartEl.dataset.state = "empty";
      return;
    }
    var params = new URLSearchParams();
    config.plots.forEach(function (p) { params.append("plot", p); });
    config.means.forEach(function (m) { params.append("mean", m); });
    (config.baselineRuns || []).forEach(function (b) { params.append("baseline." + b[0], String(b[1])); });
    if (config.samples) params.set("samples", "1");
    if (before !== null) params.set("before", String(before));
    chartEl.dataset.state = "loading";
    status.textContent = "Loading…";
    fetch(config.dataUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (json) { data = json; draw(); })
      .catch(function (err) {
        chartEl.dataset.state = "error";
        status.textContent = "Could not load the data: " + err.message;
      });
  }

  function smooth(values, width, how) {
    // Trailing window over the series' own non-missing values.
    var out = new Array(values.length).fill(null);
    var win = [];
    for (var i = 0; i < values.length; i++) {
      if (values[i] === null || values[i] === undefined) continue;
      win.push(values[i]);
      if (win.length > width) win.shift();
      if (how === "mean") {
        out[i] = win.reduce(function (a, b) { return a + b; }, 0) / win.length;
      } else {
        var s = win.slice().sort(function (a, b) { return a - b; });
        var m = s.length >> 1;
        out[i] = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
      }
    }
    return out;
  }

  function buildModel() {
    // One shared x axis: the union of the series' orders (or run times).
    var byDate = config.x === "date";
    var xsSet = new Map();
    data.series.forEach(function (s) {
      var pts = s.points;
      for (var i = 0; i < pts.run.length; i++) {
        var x = byDate ? pts.time[i] : pts.position[i];
        if (!xsSet.has(x)) xsSet.set(x, pts.order[i]);
      }
    });
    var keys = Array.from(xsSet.keys()).sort(function (a, b) { return a - b; });
    var index = new Map();
    keys.forEach(function (k, i) { index.set(k, i); });
    var xs = byDate ? keys : keys.map(function (_, i) { return i; });
    var labels = keys.map(function (k) { return xsSet.get(k); });
    var columns = [xs];
    var seriesOpts = [{}];
    var pointAt = []; // per plotted data series: x index -> point index in its source
    var sources = []; // per plotted data series: index into data.series
    var markers = [];
    var highlight = null;
    var bands = 0;
    data.series.forEach(function (s, si) {
      var color = s.is_mean ? MEAN_COLOR : COLORS[si % COLORS.length];
      var pts = s.points;
      var values = pts[config.agg] || pts.median;
      // "Normalise by median" (LNT's normalize_by_median): each series divided by the
      // median of its own values, so series of different scales share one axis.
      var scale = config.normalize_by_median ? median(values) : null;
      s.scale = scale;
      if (scale) values = values.map(function (v) { return v === null ? null : v / scale; });
      var ys = new Array(xs.length).fill(null);
      var at = new Array(xs.length).fill(-1);
      var posToX = new Map();
      for (var i = 0; i < pts.run.length; i++) {
        var xi = index.get(byDate ? pts.time[i] : pts.position[i]);
        ys[xi] = values[i];
        at[xi] = i;
        posToX.set(pts.position[i], xi);
        if (config.highlight && pts.run[i] === config.highlight) highlight = xs[xi];
      }
      if (config.samples && s.samples) {
        var most = 0;
        s.samples.forEach(function (v) { if (v && v.length > most) most = v.length; });
        for (var k = 0; k < Math.min(most, 10); k++) {
          var sy = new Array(xs.length).fill(null);
          for (var j = 0; j < pts.run.length; j++) {
            var v = s.samples[j];
            if (v && typeof v[k] === "number") sy[index.get(byDate ? pts.time[j] : pts.position[j])] = scale ? v[k] / scale : v[k];
          }
          columns.push(sy);
          seriesOpts.push({ label: "samples", stroke: color, width: 0, paths: function () { return null; },
            points: { show: true, size: 3, stroke: color, fill: color } });
          pointAt.push(at); sources.push(si);
        }
      }
      var shown = ys;
      if (config.smooth !== "none") {
        // The raw values stay as faint dots under the smoothed line.
        columns.push(ys);
        seriesOpts.push({ label: "raw", stroke: color, width: 0, paths: function () { return null; },
          points: { show: true, size: 3, stroke: color, fill: color } });
        pointAt.push(at); sources.push(si);
        shown = smooth(ys, config.window, config.smooth);
      }
      if (config.show_stddev && pts.stdev) {
        // LNT's show_stddev: the samples' mean ± their standard deviation, per point.
        [-1, 1].forEach(function (sign) {
          var band = new Array(xs.length).fill(null);
          for (var b = 0; b < pts.run.length; b++) {
            var m = pts.mean[b], sd = pts.stdev[b];
            if (typeof m !== "number" || typeof sd !== "number") continue;
            var v = m + sign * sd;
            band[index.get(byDate ? pts.time[b] : pts.position[b])] = scale ? v / scale : v;
          }
          columns.push(band);
          seriesOpts.push({ label: sign < 0 ? "mean − σ" : "mean + σ", stroke: color, width: 1,
            dash: [4, 4], spanGaps: true, points: { show: false } });
          pointAt.push(at); sources.push(si);
        });
        bands++;
      }
      columns.push(shown);
      var mainOpts = { label: s.machine + " · " + s.test + " · " + s.metric, stroke: color,
        width: s.is_mean ? 2.5 : 1.5, spanGaps: true,
        points: { show: pts.run.length <= 400, size: 4, fill: color } };
      if (config.hide_lineplot) {
        // LNT's hide_lineplot: the points alone.
        mainOpts.width = 0;
        mainOpts.paths = function () { return null; };
        mainOpts.points = { show: true, size: 5, stroke: color, fill: color };
      }
      seriesOpts.push(mainOpts);
      pointAt.push(at); sources.push(si);
      s.changes.forEach(function (c) {
        var xi = posToX.get(c.position);
        if (xi === undefined) {
          // The change's order may have no point of this series: take the next one.
          for (var p = 0; p < pts.position.length; p++) {
            if (pts.position[p] >= c.position) { xi = posToX.get(pts.position[p]); break; }
          }
        }
        if (xi !== undefined) markers.push({ x: xs[xi], change: c, series: si });
      });
    });
    // A log axis cannot show zero or negative values (uPlot would draw a line off the
    // bottom of the chart to them): leave them out and say so.
    var hiddenOnLog = 0;
    if (config.log) {
      for (var c = 1; c < columns.length; c++) {
        columns[c] = columns[c].map(function (v) {
          if (typeof v === "number" && !(v > 0)) { hiddenOnLog++; return null; }
          return v;
        });
      }
    }
    return { columns: columns, seriesOpts: seriesOpts, labels: labels, xs: xs, pointAt: pointAt,
      sources: sources, markers: markers, highlight: highlight, byDate: byDate, hiddenOnLog: hiddenOnLog,
      bands: bands };
  }

  function visiblePoints(u) {
    var lo = u.scales.x.min, hi = u.scales.x.max, n = 0;
    for (var s = 1; s < u.data.length; s++) {
      var col = u.data[s];
      for (var i = 0; i < col.length; i++) {
        var x = u.data[0][i];
        if (col[i] !== null && x >= lo && x <= hi) n++;
      }
    }
    return n;
  }

  function drawMarkers(u) {
    var ctx = u.ctx, drawn = 0, suspects = 0;
    var top = u.bbox.top, height = u.bbox.height;
    ctx.save();
    ctx.lineWidth = 2 * devicePixelRatio;
    model.markers.forEach(function (m) {
      if (m.x < u.scales.x.min || m.x > u.scales.x.max) return;
      var px = u.valToPos(m.x, "x", true);
      var dpr = devicePixelRatio, suspect = m.change.suspect;
      ctx.strokeStyle = m.change.is_regression ? "rgba(200,30,30,0.8)" : "rgba(20,140,60,0.8)";
      // A suspect (seen on the newest run alone, not yet confirmed): dotted line,
      // hollow triangle and a "suspect" label, so it never reads as a settled change.
      ctx.setLineDash(suspect ? [2 * dpr, 4 * dpr] : [6 * dpr, 4 * dpr]);
      ctx.beginPath(); ctx.moveTo(px, top); ctx.lineTo(px, top + height); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      ctx.moveTo(px - 6 * dpr, top); ctx.lineTo(px + 6 * dpr, top);
      ctx.lineTo(px, top + 9 * dpr); ctx.closePath();
      if (suspect) {
        ctx.lineWidth = 1.5 * dpr; ctx.stroke(); ctx.lineWidth = 2 * dpr;
        ctx.font = (11 * dpr) + "px system-ui, sans-serif";
        ctx.textAlign = px > u.bbox.left + u.bbox.width - 60 * dpr ? "right" : "left";
        ctx.fillText("suspect", px + (ctx.textAlign === "right" ? -9 : 9) * dpr, top + 10 * dpr);
        suspects++;
      } else {
        ctx.fill();
      }
      drawn++;
    });
    if (model.highlight !== null && model.highlight >= u.scales.x.min && model.highlight <= u.scales.x.max) {
      var hx = u.valToPos(model.highlight, "x", true);
      ctx.strokeStyle = "rgba(30,80,220,0.5)"; ctx.lineWidth = 6 * devicePixelRatio;
      ctx.beginPath(); ctx.moveTo(hx, top); ctx.lineTo(hx, top + height); ctx.stroke();
    }
    ctx.restore();
    chartEl.dataset.markers = String(drawn);
    chartEl.dataset.suspects = String(suspects);
    chartEl.dataset.points = String(visiblePoints(u));
  }

  function nearestSeries(u, idx) {
    // The plotted series whose value at idx is closest to the cursor, vertically.
    var best = -1, bestDist = Infinity, top = u.cursor.top;
    for (var s = 1; s < u.data.length; s++) {
      var v = u.data[s][idx];
      if (v === null || v === undefined || !u.series[s].show) continue;
      var d = Math.abs(u.valToPos(v, "y") - top);
      if (d < bestDist) { bestDist = d; best = s; }
    }
    return best;
  }

  function pointFor(u, idx) {
    var s = nearestSeries(u, idx);
    if (s < 0) return null;
    var src = data.series[model.sources[s - 1]];
    var pi = model.pointAt[s - 1][idx];
    if (pi < 0) return null;
    return { series: src, i: pi, value: u.data[s][idx] };
  }

  function showInfo(u) {
    var idx = u.cursor.idx;
    info.replaceChildren();
    if (idx === null || idx === undefined) { info.appendChild(el("p", "Hover over a point for details; click it to open the run.", "muted")); return; }
    var hit = pointFor(u, idx);
    if (!hit) return;
    var p = hit.series.points;
    var dl = el("dl", null, "facts compact");
    function row(k, v) { var d = el("div"); d.appendChild(el("dt", k)); d.appendChild(el("dd", v)); dl.appendChild(d); }
    row("Series", hit.series.machine + " · " + hit.series.test + " · " + hit.series.metric);
    row("Revision", p.order[hit.i]);
    var unit = hit.series.unit ? " " + hit.series.unit : "";
    if (hit.value === null) row("Value", "—");
    else if (hit.series.scale) row("Value", Number(hit.value).toPrecision(4) + " × median (" + Number(hit.value * hit.series.scale).toPrecision(5) + unit + ")");
    else row("Value", Number(hit.value).toPrecision(5) + unit);
    if (p.tests) row("Tests in the mean", String(p.tests[hit.i]));
    row("Run", "#" + p.run[hit.i] + " · " + new Date(p.time[hit.i] * 1000).toISOString().slice(0, 16).replace("T", " "));
    if (p.failed[hit.i]) row("Status", "FAILED");
    hit.series.changes.forEach(function (c) {
      if (c.position !== p.position[hit.i]) return;
      var pct = (c.relative_change * 100).toFixed(1);
      row(c.suspect ? "Suspect change" : "Detected change",
        (c.relative_change > 0 ? "+" : "") + pct + " % " + (c.is_regression ? "regression" : "improvement") +
        (c.suspect ? " (suspect: not yet confirmed by later runs)" : "") +
        (c.regression ? " · regression #" + c.regression : ""));
    });
    info.appendChild(dl);
    if (!hit.series.is_mean) showSamples(hit.series.key, p.run[hit.i], dl, unit);
  }

  // The raw samples behind the hovered point and its run's free parameters, fetched
  // once per point on hover (the graph data carries neither).
  function showSamples(key, run, dl, unit) {
    var id = key + "@" + run;
    var d = el("div");
    d.appendChild(el("dt", "Samples"));
    var dd = el("dd", "loading…");
    d.appendChild(dd);
    dl.appendChild(d);
    info.dataset.samples = "loading";
    function fill(json) {
      if (!dl.isConnected) return; // the cursor moved on to another point
      var samples = json.samples;
      dd.textContent = samples === null ? "none stored" : samples.map(function (v) {
        return typeof v === "number" ? Number(v).toPrecision(5) : String(v);
      }).join(", ") + (samples.length ? unit : "");
      var params = json.parameters || {};
      Object.keys(params).forEach(function (k) {
        var p = el("div");
        p.appendChild(el("dt", k));
        p.appendChild(el("dd", typeof params[k] === "string" ? params[k] : JSON.stringify(params[k])));
        dl.insertBefore(p, d);
      });
      info.dataset.samples = "shown";
    }
    if (sampleCache.has(id)) { fill(sampleCache.get(id)); return; }
    // Wait until the cursor rests on the point, so sweeping across the chart does
    // not send a request per point passed over.
    setTimeout(function () {
      if (!dl.isConnected) return;
      var params = new URLSearchParams({ plot: key, run: String(run) });
      fetch(config.samplesUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (json) { sampleCache.set(id, json); fill(json); })
        .catch(function (err) { if (dl.isConnected) dd.textContent = "could not load: " + err.message; });
    }, 150);
  }

  function buildLegend() {
    legend.replaceChildren();
    data.series.forEach(function (s, si) {
      var li = el("li");
      var sw = el("span", null, "swatch");
      sw.style.background = s.is_mean ? MEAN_COLOR : COLORS[si % COLORS.length];
      li.appendChild(sw);
      li.appendChild(el("span", s.machine + " · " + s.test + " · " + s.metric));
      var n = s.points.run.length;
      var suspects = s.changes.filter(function (c) { return c.suspect; }).length;
      li.appendChild(el("span", " (" + n + " points" + (s.downsampled ? ", thinned" : "") + (s.more_before ? ", older points exist" : "") + ", " + s.changes.length + (s.changes.length === 1 ? " change" : " changes") + (suspects ? ", " + suspects + " suspect" : "") + ")", "muted"));
      legend.appendChild(li);
    });
  }

  function draw() {
    model = buildModel();
    buildLegend();
    var width = Math.max(300, chartEl.clientWidth);
    var opts = {
      width: width,
      height: Math.max(260, Math.min(480, Math.round(width * 0.45))),
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 7 } },
      scales: { x: { time: model.byDate }, y: { distr: config.log ? 3 : 1 } },
      axes: [
        model.byDate ? {} : {
          values: function (u, splits) {
            return splits.map(function (v) { var i = Math.round(v); return i === v && model.labels[i] !== undefined ? model.labels[i] : ""; });
          },
        },
        { size: 80, label: yLabel() },
      ],
      series: model.seriesOpts,
      hooks: { draw: [drawMarkers], setCursor: [showInfo] },
      // Other modules draw on the same chart (graph_baselines.js: dashed baselines).
      plugins: (window.perfGraphPlugins || []).map(function (make) { return make(data, model); }),
    };
    if (plot) plot.destroy();
    chartEl.replaceChildren();
    plot = new uPlot(opts, model.columns, chartEl);
    // A press and release within a few pixels is a click (a longer drag zooms).
    var down = null;
    plot.over.addEventListener("mousedown", function (e) { down = [e.clientX, e.clientY]; });
    plot.over.addEventListener("mouseup", function (e) {
      if (!down || Math.abs(e.clientX - down[0]) > 4 || Math.abs(e.clientY - down[1]) > 4) return;
      down = null;
      var idx = plot.cursor.idx;
      if (idx === null || idx === undefined) return;
      var hit = pointFor(plot, idx);
      if (hit) window.location.href = config.runUrl + hit.series.points.run[hit.i];
    });
    var older = document.getElementById("older");
    if (older) older.hidden = !data.series.some(function (s) { return s.more_before; });
    status.textContent = model.hiddenOnLog
      ? "Values at or below zero are not drawn on the log scale."
      : "";
    chartEl.dataset.ylabel = yLabel();
    chartEl.dataset.bands = String(model.bands);
    chartEl.dataset.state = "drawn";
    showInfo(plot);
  }

  function zoom(factor, shift) {
    if (!plot) return;
    var min = plot.scales.x.min, max = plot.scales.x.max, span = max - min;
    var mid = (min + max) / 2 + shift * span;
    var half = (span * factor) / 2;
    plot.setScale("x", { min: mid - half, max: mid + half });
  }

  function bind(id, fn) {
    var b = document.getElementById(id);
    if (b) b.addEventListener("click", fn);
  }
  bind("zoom-in", function () { zoom(0.5, 0); });
  bind("zoom-out", function () { zoom(2, 0); });
  bind("pan-left", function () { zoom(1, -0.25); });
  bind("pan-right", function () { zoom(1, 0.25); });
  bind("zoom-reset", function () { if (plot) plot.setScale("x", { min: plot.data[0][0], max: plot.data[0][plot.data[0].length - 1] }); });
  bind("older", function () {
    var firsts = data.series.filter(function (s) { return s.more_before && s.points.position.length; })
      .map(function (s) { return s.points.position[0]; });
    if (firsts.length) { before = Math.min.apply(null, firsts); fetchData(); }
  });
  bind("newest", function () { before = null; fetchData(); });

  if (form) {
    form.addEventListener("change", function (e) {
      var hadSamples = config.samples;
      readOptions();
      syncUrl();
      if (config.samples && !hadSamples) fetchData(); else if (data) draw();
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    // Redraw only when the chart's width changed: a change of height alone (a
    // full-page screenshot, a mobile toolbar) would throw away the cursor and zoom.
    resizeTimer = setTimeout(function () {
      if (data && plot && Math.max(300, chartEl.clientWidth) !== plot.width) draw();
    }, 200);
  });
  fetchData();
})();
