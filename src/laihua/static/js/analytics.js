// Draws the charts of an analytics or utilisation page with Apache ECharts (static/vendor/echarts.common.min.js).
// Each chart's data comes from the page's json_script element "analytics-charts", keyed by the data-chart
// attribute of its holder; the same figures are in the table beside it, so the page reads without script.
(function () {
  "use strict";

  function markLine(spec, horizontal) {
    if (!spec.lines || !spec.lines.length) return undefined;
    return {
      symbol: "none",
      silent: true,
      lineStyle: { type: "dashed", color: "#8a1c1c" },
      label: { formatter: "{b}", position: "insideEndTop" },
      data: spec.lines.map(function (line) {
        var point = { name: line.name };
        point[horizontal ? "xAxis" : "yAxis"] = line.value;
        return point;
      })
    };
  }

  function optionFor(spec) {
    var horizontal = spec.kind === "hbar";
    var type = spec.kind === "line" ? "line" : "bar";
    var series = spec.series.map(function (one, index) {
      var out = { name: one.name, type: type, data: one.data, connectNulls: true };
      if (one.stack) out.stack = one.stack;
      if (index === 0) out.markLine = markLine(spec, horizontal);
      return out;
    });
    var categories = { type: "category", data: spec.categories, axisLabel: { hideOverlap: true } };
    if (horizontal) categories.inverse = true;
    var values = { type: "value", name: spec.unit || "" };
    if (spec.lines && spec.lines.length) {
      var top = Math.max.apply(null, spec.lines.map(function (line) { return line.value || 0; }));
      values.max = function (range) { return Math.ceil(Math.max(range.max, top) * 1.1); };
    }
    return {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 24, top: 48, bottom: 8, containLabel: true },
      xAxis: horizontal ? values : categories,
      yAxis: horizontal ? categories : values,
      series: series
    };
  }

  function draw() {
    var holder = document.getElementById("analytics-charts");
    if (!holder || !window.echarts) return;
    var charts = JSON.parse(holder.textContent);
    var drawn = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var spec = charts[element.getAttribute("data-chart")];
      if (!spec) return;
      var chart = window.echarts.init(element, null, { renderer: "svg" });
      chart.setOption(optionFor(spec));
      element.setAttribute("data-drawn", "true");
      drawn.push(chart);
    });
    window.addEventListener("resize", function () {
      drawn.forEach(function (chart) { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
