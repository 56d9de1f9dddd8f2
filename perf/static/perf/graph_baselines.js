/* Baselines on the graph page: each plotted series' value at each baseline order of
 * the suite (the graph data's "baselines" key) as a dashed horizontal line in the
 * series' colour, labelled with the baseline's name.  A uPlot plugin that graph.js
 * adds to its chart (window.perfGraphPlugins).  Names are drawn on the canvas as
 * text, never as HTML.  The chart element's data-baselines counts the lines drawn.
 */
(function () {
  "use strict";

  function plugin(data, model) {
    // The main line of data series si is the last plotted series whose source is si.
    var lineOf = {};
    model.sources.forEach(function (si, i) { lineOf[si] = i + 1; });

    function drawBaselines(u) {
      var ctx = u.ctx, box = u.bbox, drawn = 0;
      var dpr = window.devicePixelRatio || 1;
      ctx.save();
      ctx.beginPath();
      ctx.rect(box.left, box.top, box.width, box.height);
      ctx.clip();
      data.series.forEach(function (s, si) {
        var line = lineOf[si];
        if (!s.baselines || line === undefined || !u.series[line].show) return;
        var stroke = u.series[line].stroke;
        var color = typeof stroke === "function" ? stroke(u, line) : stroke;
        s.baselines.forEach(function (b) {
          if (typeof b.value !== "number" || (u.scales.y.distr === 3 && b.value <= 0)) return;
          var y = u.valToPos(b.value, "y", true);
          if (y < box.top || y > box.top + box.height) return;
          ctx.strokeStyle = color;
          ctx.lineWidth = 1.5 * dpr;
          ctx.setLineDash([6 * dpr, 4 * dpr]);
          ctx.beginPath();
          ctx.moveTo(box.left, y);
          ctx.lineTo(box.left + box.width, y);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = color;
          ctx.font = 11 * dpr + "px system-ui, sans-serif";
          ctx.textAlign = "right";
          ctx.fillText(b.name + " (" + b.order + ")", box.left + box.width - 4 * dpr, y - 3 * dpr);
          drawn++;
        });
      });
      ctx.restore();
      u.root.parentNode.dataset.baselines = String(drawn);
    }

    return { hooks: { draw: [drawBaselines] } };
  }

  window.perfGraphPlugins = window.perfGraphPlugins || [];
  window.perfGraphPlugins.push(plugin);
})();
