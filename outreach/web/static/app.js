// The console's only script (no library, no build step): the compose page's live preview.
// It asks /compose/preview for the exact text the platform would get, its length by the
// platform's rule and the publisher's checks, and shows them as text (never as HTML).
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form) { return; }
  var timer = null;
  function list(id, items) {
    var ul = document.getElementById(id);
    ul.textContent = "";
    (items || []).forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item;
      ul.appendChild(li);
    });
  }
  function refresh() {
    var params = new URLSearchParams();
    ["account", "tip", "text", "at"].forEach(function (name) {
      params.set(name, form.elements[name].value);
    });
    if (!params.get("tip") && !params.get("text").trim()) {
      document.getElementById("preview").textContent = "";
      document.getElementById("preview-length").textContent = "-";
      list("preview-problems", []);
      list("preview-warnings", []);
      return;
    }
    fetch("/compose/preview?" + params.toString(), {credentials: "same-origin",
                                                    headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        document.getElementById("preview").textContent = data.text;
        document.getElementById("preview-length").textContent = data.length + " / " + data.max_length;
        list("preview-problems", data.problems);
        list("preview-warnings", data.warnings);
      })
      .catch(function () { /* the preview is a help; submitting still checks everything */ });
  }
  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 250);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
}());
