// Pipeline history: draws the waterfall (bars floating from the running total; a click
// opens the bar's deals) and the commit / best-case trend with ECharts, from the JSON
// the page embeds. The tables beside them carry the same figures. No inline script.
(function () {
  "use strict";

  var zh = (document.documentElement.lang || "en").toLowerCase().indexOf("zh") === 0;

  function money(value, currency) {
    try {
      return new Intl.NumberFormat(zh ? "zh-CN" : "en", {
        style: "currency", currency: currency, notation: "compact", maximumFractionDigits: 1
      }).format(value);
    } catch (e) {
      return String(value);
    }
  }

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function waterfall(spec, node) {
    var base = [], up = [], down = [], running = 0;
    spec.bars.forEach(function (b, i) {
      var total = b.key === "start" || b.key === "end";
      if (total) {
        base.push(0); up.push({ value: b.value, url: b.url }); down.push("-");
        running = b.value;
        return;
      }
      var next = running + b.value;
      base.push(Math.min(running, next));
      if (b.value >= 0) { up.push({ value: b.value, url: b.url }); down.push("-"); }
      else { up.push("-"); down.push({ value: -b.value, url: b.url }); }
      running = next;
    });
    var chart = echarts.init(node);
    chart.setOption({
      title: { text: spec.title, left: "center", textStyle: { fontSize: 14 } },
      animation: false,
      grid: { left: 70, right: 10, top: 40, bottom: 60 },
      tooltip: {
        trigger: "item", renderMode: "richText",
        formatter: function (p) { return spec.bars[p.dataIndex].label + ": " + money(spec.bars[p.dataIndex].value, spec.currency); }
      },
      xAxis: { type: "category", data: spec.bars.map(function (b) { return b.label; }), axisLabel: { interval: 0, rotate: 40 } },
      yAxis: { type: "value", axisLabel: { formatter: function (v) { return money(v, spec.currency); } } },
      series: [
        { type: "bar", stack: "w", data: base, itemStyle: { color: "transparent" }, silent: true, tooltip: { show: false } },
        { type: "bar", stack: "w", data: up, itemStyle: { color: "#3b82f6" }, cursor: "pointer" },
        { type: "bar", stack: "w", data: down, itemStyle: { color: "#ef4444" }, cursor: "pointer" }
      ]
    });
    chart.on("click", function (p) { if (p.data && p.data.url) window.location.href = p.data.url; });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function trend(spec, node) {
    var chart = echarts.init(node);
    chart.setOption({
      title: { text: spec.title, left: "center", textStyle: { fontSize: 14 } },
      animation: false,
      legend: { top: 26 },
      grid: { left: 70, right: 10, top: 70, bottom: 30 },
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: function (v) { return money(v, spec.currency); } },
      xAxis: { type: "category", data: spec.labels },
      yAxis: { type: "value", axisLabel: { formatter: function (v) { return money(v, spec.currency); } } },
      series: spec.series.map(function (s, i) {
        return { name: s.name, type: "line", data: s.values, lineStyle: i === 3 ? { type: "dashed" } : undefined };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    if (typeof echarts === "undefined") return;
    var w = data("waterfall-data"), wn = document.getElementById("waterfall-chart");
    if (w && wn) waterfall(w, wn);
    var t = data("trend-data"), tn = document.getElementById("trend-chart");
    if (t && tn) trend(t, tn);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
