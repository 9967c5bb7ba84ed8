// "Select all on this page": a check box marked data-select-all="NAME" checks or clears
// every check box named NAME in its table (worklists/review.html, handover_new.html). A
// listener on the document, as the Content-Security-Policy allows no inline handler, so
// it also serves a table swapped in by htmx.
document.addEventListener("change", function (event) {
  var all = event.target;
  if (!(all instanceof HTMLInputElement) || !all.dataset.selectAll) return;
  var table = all.closest("table");
  if (!table) return;
  table.querySelectorAll("input[type=checkbox]").forEach(function (box) {
    if (box.name === all.dataset.selectAll) box.checked = all.checked;
  });
});
