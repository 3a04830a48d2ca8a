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

  // Uploads that show their progress (a price list of 200,000 rows is a few megabytes): the
  // form goes by XMLHttpRequest, its upload events fill the <progress>, and the page the server
  // answers (the diff, or the reason the file was refused) replaces this one. The URL stays the
  // draft's, so reloading shows the draft instead of posting the file again.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var box = form.querySelector("[data-upload-progress]");
    var bar = form.querySelector("progress");
    var status = form.querySelector("[data-upload-status]");
    if (!box || !bar || !status || !window.FormData) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var request = new XMLHttpRequest();
      var show = function (percent) {
        bar.value = percent;
        status.textContent = form.getAttribute("data-uploading").replace("{p}", String(percent));
      };
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && e.total > 0) { show(Math.floor((e.loaded * 100) / e.total)); }
      });
      request.upload.addEventListener("load", function () {
        bar.value = 100;
        status.textContent = form.getAttribute("data-checking");
      });
      request.addEventListener("load", function () {
        document.open();
        document.write(request.responseText);
        document.close();
      });
      request.addEventListener("error", function () {
        status.textContent = form.getAttribute("data-failed");
        if (button) { button.disabled = false; }
      });
      request.open("POST", form.action);
      box.hidden = false;
      show(0);
      if (button) { button.disabled = true; }
      request.send(new FormData(form));
    });
  });

  // Forms that ask before an irreversible change.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
