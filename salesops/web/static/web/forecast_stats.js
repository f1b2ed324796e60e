// The statistical forecast's monthly charts: actual months and forecast months as two
// lines, from the JSON the page embeds beside each chart (the numbers are also in a
// table under it, so the page works without this script or the chart library).
(function () {
  "use strict";

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-forecast-chart"));
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [data.actual_label, data.forecast_label], bottom: 0 },
      grid: { left: 60, right: 16, top: 16, bottom: 64 },
      xAxis: { type: "category", data: data.months },
      yAxis: { type: "value" },
      series: [
        { name: data.actual_label, type: "line", data: data.actual, connectNulls: false },
        { name: data.forecast_label, type: "line", data: data.forecast, lineStyle: { type: "dashed" } },
      ],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-forecast-chart]").forEach(draw);
  });
})();
