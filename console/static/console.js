// channelhub HQ console: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Keyboard shortcuts on pages that declare them: links with data-shortcut, inputs with
  // data-shortcut-focus. Ignored while typing in a field.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable)) return;
    var key = event.key.toLowerCase();
    var link = document.querySelector('a[data-shortcut="' + key + '"]');
    if (link) { event.preventDefault(); window.location.assign(link.href); return; }
    var field = document.querySelector('[data-shortcut-focus="' + key + '"]');
    if (field) { event.preventDefault(); field.focus(); }
  });

  // Live figures: pages with data-live-url listen to the console's server-sent events and
  // replace each [data-figure] with the value the server sends.
  var live = document.querySelector("[data-live-url]");
  if (live && window.EventSource) {
    var source = new EventSource(live.getAttribute("data-live-url"));
    source.addEventListener("figures", function (message) {
      var figures = JSON.parse(message.data);
      Object.keys(figures).forEach(function (name) {
        var node = document.querySelector('[data-figure="' + name + '"]');
        if (node && node.textContent !== String(figures[name])) { node.textContent = figures[name]; }
      });
      live.setAttribute("data-updated", String(Date.now()));
    });
  }

  // The promotion form: show only the fieldsets of the chosen kind (all show without script).
  var kindSelect = document.querySelector("[data-kind-select]");
  if (kindSelect) {
    var showKind = function () {
      document.querySelectorAll("fieldset[data-kind]").forEach(function (set) {
        set.hidden = set.getAttribute("data-kind") !== kindSelect.value;
      });
    };
    kindSelect.addEventListener("change", showKind);
    showKind();
  }

  // Forms that ask before an irreversible change.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
