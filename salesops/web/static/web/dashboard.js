// Dashboards: fetches the chart data (JSON, drawn as the viewer's scope allows) and
// draws each chart with ECharts, served from our own static files. A click on a bar,
// point, gauge or cell opens the list of the records it counts. No inline script.
(function () {
  "use strict";

  var lang = (document.documentElement.lang || "en").toLowerCase();
  var zh = lang.indexOf("zh") === 0;

  function money(value, currency) {
    try {
      return new Intl.NumberFormat(zh ? "zh-CN" : "en", {
        style: "currency", currency: currency, notation: "compact", maximumFractionDigits: 1
      }).format(value);
    } catch (e) {
      return String(value);
    }
  }

  function pct(value) {
    return value === null || value === undefined || value === "-" ? "—" : (value * 100).toFixed(1) + "%";
  }

  function point(p) {
    return { value: p.value === null ? "-" : p.value, url: p.url };
  }

  function base(spec) {
    return {
      title: { text: spec.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item", renderMode: "richText" },
      animation: false
    };
  }

  function axisFormatter(spec, currency) {
    if (spec.money) return function (v) { return money(v, currency); };
    if (spec.percent) return function (v) { return Math.round(v * 100) + "%"; };
    return undefined;
  }

  function valueFormatter(spec, currency) {
    if (spec.money) return function (p) { return p.seriesName + " · " + p.name + ": " + money(p.value, currency); };
    if (spec.percent) return function (p) { return p.seriesName + " · " + p.name + ": " + pct(p.value); };
    return function (p) { return p.seriesName + " · " + p.name + ": " + p.value; };
  }

  function cartesian(spec, currency, horizontal, kind) {
    var option = base(spec);
    var category = { type: "category", data: spec.labels, axisLabel: { hideOverlap: true } };
    var value = { type: "value", axisLabel: { formatter: axisFormatter(spec, currency) } };
    if (spec.percent) value.max = 1;
    option.grid = { left: horizontal ? 130 : 70, right: 20, top: spec.series.length > 1 ? 62 : 40, bottom: 30 };
    option.xAxis = horizontal ? value : category;
    option.yAxis = horizontal ? category : value;
    option.tooltip.formatter = valueFormatter(spec, currency);
    if (spec.series.length > 1) option.legend = { top: 30 };
    option.series = spec.series.map(function (s) {
      return { name: s.name, type: kind, data: s.points.map(point), connectNulls: false, cursor: "pointer" };
    });
    return option;
  }

  function gauges(spec) {
    var option = base(spec);
    var n = spec.items.length;
    var cols = Math.min(n, 3);
    var rows = Math.ceil(n / cols);
    option.series = spec.items.map(function (item, i) {
      var col = i % cols, row = Math.floor(i / cols);
      return {
        type: "gauge", min: 0, max: 150, splitNumber: 3,
        center: [((col + 0.5) / cols * 100) + "%", (18 + (row + 0.6) / rows * 78) + "%"],
        radius: Math.min(90 / cols, 70 / rows) + "%",
        progress: { show: true, width: 8 }, axisLine: { lineStyle: { width: 8 } },
        axisLabel: { show: false }, splitLine: { length: 6 }, axisTick: { show: false },
        pointer: { width: 3 }, title: { offsetCenter: [0, "75%"], fontSize: 11 },
        detail: { formatter: "{value}%", fontSize: 14, offsetCenter: [0, "40%"] },
        data: [{ value: Math.round(item.value * 1000) / 10, name: item.name, url: item.url }]
      };
    });
    return option;
  }

  function heatmap(spec) {
    var option = base(spec);
    var max = 1;
    spec.cells.forEach(function (c) { if (c.value > max) max = c.value; });
    option.grid = { left: 110, right: 20, top: 40, bottom: 70 };
    option.xAxis = { type: "category", data: spec.xlabels, splitArea: { show: true } };
    option.yAxis = { type: "category", data: spec.ylabels, splitArea: { show: true } };
    option.visualMap = { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120 };
    option.tooltip.formatter = function (p) {
      return spec.ylabels[p.value[1]] + " · " + spec.xlabels[p.value[0]] + ": " + p.value[2];
    };
    option.series = [{
      type: "heatmap", cursor: "pointer",
      data: spec.cells.map(function (c) { return { value: [c.x, c.y, c.value], url: c.url }; })
    }];
    return option;
  }

  function optionFor(spec, currency) {
    if (spec.type === "gauges") return gauges(spec);
    if (spec.type === "heatmap") return heatmap(spec);
    if (spec.type === "hbars") return cartesian(spec, currency, true, "bar");
    if (spec.type === "line") return cartesian(spec, currency, false, "line");
    return cartesian(spec, currency, false, "bar");
  }

  function message(el, text) {
    el.textContent = "";
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = text;
    el.appendChild(p);
  }

  function draw(root, data) {
    var charts = [];
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = data.charts[el.getAttribute("data-chart")];
      if (!spec) return;
      el.textContent = "";
      var empty = spec.type === "gauges" ? spec.items.length === 0
        : spec.type === "heatmap" ? spec.cells.length === 0 : spec.labels.length === 0;
      if (empty) {
        message(el, spec.empty || (zh ? "没有数据。" : "No data."));
        var h = document.createElement("h2");
        h.textContent = spec.title;
        el.insertBefore(h, el.firstChild);
        el.setAttribute("data-rendered", "empty");
        return;
      }
      var chart = window.echarts.init(el, null, { locale: zh ? "ZH" : "EN", renderer: "canvas" });
      chart.setOption(optionFor(spec, data.currency));
      chart.on("click", function (params) {
        if (params.data && params.data.url) window.location.assign(params.data.url);
      });
      el.setAttribute("data-rendered", "chart");
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-dashboard-src]");
    if (!root) return;
    var cells = root.querySelectorAll("[data-chart]");
    if (!window.echarts) {
      cells.forEach(function (el) { message(el, root.getAttribute("data-missing")); });
      return;
    }
    cells.forEach(function (el) { message(el, root.getAttribute("data-loading")); });
    fetch(root.getAttribute("data-dashboard-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) { draw(root, data); root.setAttribute("data-ready", "1"); })
      .catch(function () {
        cells.forEach(function (el) { message(el, root.getAttribute("data-failed")); });
      });
  });
})();
