// The pipeline board: drag a card onto a column to move the deal. Open stages move at
// once; the won and lost columns open a dialog first (close date; lost reason). Every
// move is a POST the server checks; the board comes back re-rendered with fresh counts.
(function () {
  "use strict";
  var dragged = null;

  function board() { return document.getElementById("board"); }

  function post(url, values, form) {
    var filters = board() ? board().getAttribute("data-filters") : "";
    var target = url + (filters ? "?" + filters : "");
    var context = { target: "#board", swap: "outerHTML", values: values };
    if (form) context.source = form;
    window.htmx.ajax("POST", target, context);
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".column.drop-here").forEach(function (c) { c.classList.remove("drop-here"); });
    dragged = null;
  });

  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".column[data-stage]");
    if (!column || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".column.drop-here").forEach(function (c) {
      if (c !== column) c.classList.remove("drop-here");
    });
    column.classList.add("drop-here");
  });

  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".column[data-stage]");
    if (!column || !dragged) return;
    event.preventDefault();
    var card = dragged;
    var url = card.getAttribute("data-move-url");
    var version = card.getAttribute("data-version");
    var kind = column.getAttribute("data-kind");
    if (card.closest(".column") === column) return;
    if (kind === "won" || kind === "lost") {
      var dialog = document.getElementById(kind + "-dialog");
      var form = document.getElementById(kind + "-form");
      form.setAttribute("data-url", url);
      form.querySelector("input[name=version]").value = version;
      dialog.showModal();
      return;
    }
    post(url, { stage: column.getAttribute("data-stage"), version: version, from: "board" });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "won-form" && form.id !== "lost-form") return;
    event.preventDefault();
    var url = form.getAttribute("data-url");
    form.closest("dialog").close();
    if (url) post(url, {}, form);
  });
})();
