// Report builder: draws the result chart with ECharts (served from our own static
// files) from the JSON the page carries, and opens a point's records on click.
// Also offers only the conditions that fit the chosen filter field. No inline script.
(function () {
  "use strict";

  var lang = (document.documentElement.lang || "en").toLowerCase();
  var zh = lang.indexOf("zh") === 0;

  function option(spec) {
    var base = {
      title: { text: spec.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item", renderMode: "richText" },
      animation: false
    };
    if (spec.type === "pie") {
      var s = spec.series[0];
      base.series = [{
        type: "pie", radius: "60%", cursor: "pointer",
        data: spec.labels.map(function (label, i) {
          var p = s.points[i] || { value: 0, url: "" };
          return { name: label, value: p.value, url: p.url };
        })
      }];
      return base;
    }
    base.grid = { left: 80, right: 20, top: spec.series.length > 1 ? 62 : 40, bottom: 40 };
    base.xAxis = { type: "category", data: spec.labels, axisLabel: { hideOverlap: true } };
    base.yAxis = { type: "value" };
    if (spec.series.length > 1) base.legend = { top: 30, type: "scroll" };
    base.series = spec.series.map(function (s) {
      return {
        name: s.name, type: spec.type === "line" ? "line" : "bar", cursor: "pointer",
        data: s.points.map(function (p) { return p ? { value: p.value, url: p.url } : "-"; })
      };
    });
    return base;
  }

  function drawChart() {
    var el = document.getElementById("report-chart");
    var data = document.getElementById("report-chart-data");
    if (!el || !data) return;
    if (!window.echarts) {
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = el.getAttribute("data-missing");
      el.appendChild(p);
      return;
    }
    var spec = JSON.parse(data.textContent);
    el.style.height = "360px";
    var chart = window.echarts.init(el, null, { locale: zh ? "ZH" : "EN", renderer: "canvas" });
    chart.setOption(option(spec));
    chart.on("click", function (params) {
      if (params.data && params.data.url) window.location.assign(params.data.url);
    });
    el.setAttribute("data-rendered", "chart");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function fitOperators() {
    var form = document.getElementById("report-form");
    if (!form) return;
    var byType = JSON.parse(form.getAttribute("data-operators") || "{}");
    form.querySelectorAll(".report-row").forEach(function (row) {
      var field = row.querySelector("[data-role=field]");
      var op = row.querySelector("[data-role=op]");
      if (!field || !op) return;
      function update() {
        var chosen = field.options[field.selectedIndex];
        var allowed = byType[chosen && chosen.getAttribute("data-type")] || null;
        Array.prototype.forEach.call(op.options, function (o) {
          o.disabled = !!allowed && allowed.indexOf(o.value) < 0;
        });
        if (op.options[op.selectedIndex] && op.options[op.selectedIndex].disabled) {
          for (var i = 0; i < op.options.length; i++) {
            if (!op.options[i].disabled) { op.selectedIndex = i; break; }
          }
        }
      }
      field.addEventListener("change", update);
      update();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawChart();
    fitOperators();
  });
})();
