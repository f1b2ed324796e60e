// The targets grid: mark changed cells, send only those, and paste a block copied
// from a spreadsheet straight into the cells. The page works without this script
// (every cell is sent and the server keeps only the changed ones).
(function () {
  "use strict";

  function grid() {
    return document.querySelector("form[data-targets-grid]");
  }

  function mark(input) {
    input.classList.toggle("changed", input.value.trim() !== input.getAttribute("data-original"));
  }

  function cellAt(form, row, col) {
    return form.querySelector('input[data-row="' + row + '"][data-col="' + col + '"]');
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.matches && input.matches("form[data-targets-grid] input[data-original]")) mark(input);
  });

  // A block with tabs or line breaks fills the cells to the right and below.
  document.addEventListener("paste", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("form[data-targets-grid] input[data-original]")) return;
    var text = (event.clipboardData || window.clipboardData).getData("text");
    if (!text || !/[\t\n]/.test(text.replace(/\r?\n$/, ""))) return;
    event.preventDefault();
    var form = grid();
    var row = Number(input.getAttribute("data-row"));
    var col = Number(input.getAttribute("data-col"));
    text.replace(/\r/g, "").replace(/\n$/, "").split("\n").forEach(function (line, r) {
      line.split("\t").forEach(function (value, c) {
        var cell = cellAt(form, row + r, col + c);
        if (cell) {
          cell.value = value.trim();
          mark(cell);
        }
      });
    });
  });

  // Unchanged cells are not sent: a large grid stays a small request.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-targets-grid]")) return;
    form.querySelectorAll("input[data-original]").forEach(function (input) {
      if (input.value.trim() === input.getAttribute("data-original")) input.disabled = true;
    });
  });

  // Coming back with the browser's back button: enable the cells again.
  window.addEventListener("pageshow", function () {
    var form = grid();
    if (form) form.querySelectorAll("input[data-original]").forEach(function (input) {
      input.disabled = false;
      mark(input);
    });
  });
})();
