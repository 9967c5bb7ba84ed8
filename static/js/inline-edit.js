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
