/* Parts of a page served by their own request: each element with data-fragment is
   replaced by the HTML at that URL (same origin, rendered by Django's escaping
   templates).  On failure the element stays as it is (its links still work). */
(function () {
  "use strict";
  document.querySelectorAll("[data-fragment]").forEach(function (node) {
    node.dataset.state = "loading";
    fetch(node.dataset.fragment, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (html) {
        var box = document.createElement("div");
        box.innerHTML = html;
        var part = box.firstElementChild;
        if (!part) throw new Error("empty");
        part.dataset.state = "loaded";
        node.replaceWith(part);
      })
      .catch(function () { node.dataset.state = "failed"; });
  });
})();
