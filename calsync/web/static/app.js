// calsync's only script: poll the sync status while a round runs, copy buttons, confirmations.
(function () {
  "use strict";

  function poll(box) {
    var url = box.getAttribute("data-poll");
    if (!url) return;
    window.setTimeout(function () {
      fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var tmp = document.createElement("div");
          tmp.innerHTML = html;
          var fresh = tmp.querySelector("#sync-status");
          if (!fresh) return;
          box.replaceWith(fresh);
          if (fresh.getAttribute("data-poll")) {
            poll(fresh);
          } else {
            var button = document.getElementById("sync-now");
            if (button) button.disabled = false;
            // The round changed the log and perhaps the link: show the whole page again.
            window.location.reload();
          }
        })
        .catch(function () { poll(box); });
    }, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("#sync-status[data-poll]");
    if (box) poll(box);

    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var input = document.querySelector(button.getAttribute("data-copy"));
        if (!input) return;
        input.select();
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () {
            document.execCommand("copy"); done();
          });
        } else {
          document.execCommand("copy"); done();
        }
      });
    });

    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  });
})();
