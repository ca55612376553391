// Podium's charts: progressive enhancement over the tables the pages render (decision 0017).
// Each <figure data-chart="ID"> gets a uPlot chart of the JSON in <script type="application/json" id="ID">:
// {"x": [...], "xLabel": "...", "xPrefix": "v", "yLabel": "...", "points": bool,
//  "series": [{"label": "...", "y": [...]} | {"label": "...", "x": [...], "y": [...]}]}
// (a series with its own "x" is aligned with the others by uPlot.join). The table of the same numbers
// stays in the page; with a chart drawn its <details> is closed. A <select data-autosubmit> submits its form.
(function () {
  "use strict";
  var COLORS = ["#1f5fbf", "#c2410c", "#0d6b3a", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d",
                "#4d7c0f", "#475569"];

  // x values are whole numbers (versions, steps): ticks never fall between them
  var WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000,
               500000, 1000000, 2000000, 5000000, 10000000];

  function data(spec) {
    if (!spec.series.some(function (s) { return s.x; })) {
      return [spec.x].concat(spec.series.map(function (s) { return s.y; }));
    }
    return uPlot.join(spec.series.map(function (s) { return [s.x, s.y]; }));
  }

  function draw(figure) {
    var source = document.getElementById(figure.getAttribute("data-chart"));
    if (!source || typeof uPlot === "undefined") return;
    var spec = JSON.parse(source.textContent);
    var width = Math.max(260, figure.clientWidth);
    var series = [{label: spec.xLabel}].concat(spec.series.map(function (s, i) {
      return {label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true,
              points: {show: !!spec.points || s.y.length < 40, size: 6}};
    }));
    var options = {
      width: width, height: width < 500 ? 220 : 280, series: series,
      scales: {x: {time: false}},
      axes: [{label: spec.xLabel, size: 40, incrs: WHOLE, values: function (u, splits) {
        return splits.map(function (v) { return (spec.xPrefix || "") + v; });
      }}, {label: spec.yLabel, size: 60}],
      legend: {live: true}, cursor: {drag: {x: true, y: false}}
    };
    var aligned = data(spec);
    var chart = new uPlot(options, aligned, figure);
    var xs = aligned[0];
    if (xs.length && xs[0] === xs[xs.length - 1]) {  // one x value: around it, not uPlot's 0..100
      chart.setScale("x", {min: xs[0] - 1, max: xs[0] + 1});
    }
    figure.classList.add("drawn");
    var table = figure.nextElementSibling;
    if (table && table.tagName === "DETAILS") table.open = false;
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) window.cancelAnimationFrame(pending);
      pending = window.requestAnimationFrame(function () {
        var w = Math.max(260, figure.clientWidth);
        chart.setSize({width: w, height: w < 500 ? 220 : 280});
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("figure[data-chart]"), draw);
    Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (select) {
      select.addEventListener("change", function () { if (select.form) select.form.submit(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
