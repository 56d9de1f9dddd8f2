/* Small graphs of a regression: the points around each change, with its marker. */
(function () {
  "use strict";
  var conf = document.getElementById("mini-config");
  if (!conf || typeof uPlot === "undefined") return;
  var url = conf.dataset.url;
  document.querySelectorAll(".mini-graph").forEach(function (node) {
    var around = Number(node.dataset.around);
    var params = new URLSearchParams({ plot: node.dataset.plot, around: String(around), width: "30" });
    fetch(url + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (json) {
        var s = json.series[0];
        if (!s) { node.dataset.state = "empty"; return; }
        var xs = s.points.position.map(function (_, i) { return i; });
        var mark = s.points.position.findIndex(function (p) { return p >= around; });
        new uPlot({
          width: Math.max(220, node.clientWidth), height: 150, legend: { show: false },
          cursor: { show: false },
          axes: [{ values: function (u, splits) { return splits.map(function (v) { return s.points.order[v] || ""; }); } }, { size: 50 }],
          series: [{}, { stroke: "#1f77b4", points: { show: true, size: 3 } }],
          hooks: { draw: [function (u) {
            if (mark < 0) return;
            var x = u.valToPos(mark, "x", true), ctx = u.ctx;
            ctx.save(); ctx.strokeStyle = "rgba(200,30,30,0.8)"; ctx.setLineDash([4, 3]);
            ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke(); ctx.restore();
          }] },
        }, [xs, s.points.median], node);
        node.dataset.state = "drawn";
      })
      .catch(function () { node.dataset.state = "error"; });
  });
})();
