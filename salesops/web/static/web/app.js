// Small progressive enhancements; every page works without them. No inline handlers:
// behaviour hangs on data- attributes (the CSP allows only scripts from this site).
(function () {
  "use strict";

  function on(type, selector, handler) {
    document.addEventListener(type, function (event) {
      var target = event.target.closest ? event.target.closest(selector) : null;
      if (target) handler(event, target);
    });
  }

  // A <select data-autosubmit> submits its form when changed.
  on("change", "select[data-autosubmit]", function (event, select) {
    if (select.value && select.form) select.form.requestSubmit();
  });

  // A <select data-navigate> goes to the URL of the chosen option.
  on("change", "select[data-navigate]", function (event, select) {
    if (select.value) window.location.assign(select.value);
  });

  // Buttons with data-confirm ask first.
  on("click", "[data-confirm]", function (event, button) {
    if (!window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  });

  // A checkbox data-select-all="ids" ticks every checkbox named ids in its form.
  on("change", "input[data-select-all]", function (event, box) {
    var name = box.getAttribute("data-select-all");
    var form = box.form || document;
    form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (c) {
      c.checked = box.checked;
    });
  });

  // Bulk bar: show the inputs of the chosen action only.
  function syncBulk() {
    var action = document.getElementById("bulk-action");
    if (!action) return;
    document.querySelectorAll("[data-for-action]").forEach(function (el) {
      el.hidden = el.getAttribute("data-for-action") !== action.value;
    });
  }
  on("change", "#bulk-action", syncBulk);
  document.addEventListener("DOMContentLoaded", syncBulk);

  // <button data-close-dialog> closes its dialog.
  on("click", "[data-close-dialog]", function (event, button) {
    var dialog = button.closest("dialog");
    if (dialog) dialog.close();
  });

  // Narrow screens start with the menu folded.
  document.addEventListener("DOMContentLoaded", function () {
    var nav = document.getElementById("nav");
    if (nav && window.matchMedia("(max-width: 800px)").matches) nav.open = false;
  });
})();

// A chooser <select data-lookup="customer"> offers only a few records; a search box
// beside it asks /lookup/<kind>/?q= for more (within the person's data scope).
(function () {
  "use strict";
  function attach(select) {
    if (select.dataset.lookupReady) return;
    select.dataset.lookupReady = "1";
    var box = document.createElement("input");
    box.type = "search";
    box.className = "lookup-search";
    box.placeholder = select.getAttribute("data-lookup-placeholder") || "…";
    box.setAttribute("aria-label", box.placeholder);
    select.parentNode.insertBefore(box, select);
    var timer = null;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = "/lookup/" + encodeURIComponent(select.getAttribute("data-lookup")) +
          "/?q=" + encodeURIComponent(box.value);
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
          var keep = select.value;
          var chosen = select.selectedOptions[0];
          while (select.options.length > 1) select.remove(1);
          if (keep && chosen) select.add(new Option(chosen.text, keep, true, true));
          data.results.forEach(function (row) {
            if (String(row.id) !== keep) select.add(new Option(row.label, row.id));
          });
        });
      }, 250);
    });
  }
  function scan() { document.querySelectorAll("select[data-lookup]").forEach(attach); }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:afterSettle", scan);
})();
