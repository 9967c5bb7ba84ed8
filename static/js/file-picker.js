// A file input shown as a labelled button in the page's language (a <label for> styled as
// a button over a visually hidden <input type=file data-file-name="ID">): the chosen
// file's name is written into the element ID, or its data-empty text when none is chosen.
(function () {
  function show(input) {
    var target = document.getElementById(input.dataset.fileName);
    if (!target) return;
    var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    target.textContent = names.length ? names.join(", ") : (target.dataset.empty || "");
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file" && input.dataset.fileName) {
      show(input);
    }
  });
  // A page restored from the back-forward cache keeps the chosen file: say so.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("input[type=file][data-file-name]").forEach(show);
  });
})();
