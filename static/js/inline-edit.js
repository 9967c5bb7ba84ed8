// Inline editing (templates/records/_identity.html): Esc cancels, Enter also saves from a
// drop-down list (text inputs submit on Enter by themselves). The portal's own code.
document.addEventListener("keydown", function (event) {
  var form = event.target.closest ? event.target.closest("form[data-inline-editor]") : null;
  if (!form) return;
  if (event.key === "Escape") {
    event.preventDefault();
    form.querySelector("[data-cancel]").click();
  } else if (event.key === "Enter" && event.target.tagName === "SELECT") {
    event.preventDefault();
    form.requestSubmit();
  }
});

// After a save or a cancel the swapped-in field carries autofocus: htmx focuses it while it
// settles, but the browser may not have applied it yet when the page is busy (seen once in
// CI); focus it here too, so that the focus always comes back to the field just edited.
document.addEventListener("htmx:afterSettle", function (event) {
  var root = event.detail && event.detail.elt;
  if (!root || !root.querySelector) return;
  var field = root.matches && root.matches("[autofocus]") ? root : root.querySelector("[autofocus]");
  if (field && field.isConnected && document.activeElement !== field) field.focus();
});
