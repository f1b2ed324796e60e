// The import wizard's drop area: a file dropped on it becomes the file input's file.
// Without this script the file input itself still takes a click or a drop.
(function () {
  "use strict";

  function zone() {
    return document.getElementById("dropzone");
  }

  function showName(input) {
    var label = document.getElementById("dropzone-name");
    if (label) label.textContent = input.files && input.files.length ? input.files[0].name : "";
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "import-file") showName(event.target);
  });

  // A file chosen before this script ran (a slow page, or the browser restoring the
  // form on "back") is named too.
  var chosen = document.getElementById("import-file");
  if (chosen) showName(chosen);

  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var z = zone();
      if (!z || !z.contains(event.target)) return;
      event.preventDefault();
      z.classList.add("over");
    });
  });

  document.addEventListener("dragleave", function (event) {
    var z = zone();
    if (z && event.target === z) z.classList.remove("over");
  });

  document.addEventListener("drop", function (event) {
    var z = zone();
    if (!z || !z.contains(event.target)) return;
    event.preventDefault();
    z.classList.remove("over");
    var input = document.getElementById("import-file");
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showName(input);
    }
  });
})();
