// When the session has ended, an htmx call is answered with HX-Redirect to the login page
// and the header X-Session-Ended (portal/core/web.py). Before htmx follows it, what the
// person had typed or chosen on this page is kept in this tab's sessionStorage; once they
// have logged in again and are back on the same page, it is put back and they are told.
(function () {
  "use strict";
  var PREFIX = "portal-draft:";
  var SELECTOR = "main textarea[name], main select[name], main input[name]" +
    ":not([type=hidden]):not([type=password]):not([type=file]):not([type=submit])";

  function key(el) {
    var box = el.type === "checkbox" || el.type === "radio";
    return (el.id ? "#" + el.id : el.name) + (box ? "=" + el.value : "");
  }

  function changed(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") {
      return Array.prototype.some.call(el.options, function (o) {
        return o.selected !== o.defaultSelected;
      });
    }
    return el.value !== el.defaultValue;
  }

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.getResponseHeader("X-Session-Ended") !== "1") return;
    var draft = {};
    document.querySelectorAll(SELECTOR).forEach(function (el) {
      if (changed(el)) draft[key(el)] = el.type === "checkbox" || el.type === "radio" ? el.checked : el.value;
    });
    if (Object.keys(draft).length) {
      sessionStorage.setItem(PREFIX + location.pathname + location.search, JSON.stringify(draft));
    }
  });

  var script = document.currentScript;
  document.addEventListener("DOMContentLoaded", function () {
    var name = PREFIX + location.pathname + location.search;
    var stored = sessionStorage.getItem(name);
    if (!stored || !document.body.hasAttribute("data-logged-in")) return;
    sessionStorage.removeItem(name);
    var draft = JSON.parse(stored);
    var restored = 0;
    var searches = [];
    document.querySelectorAll(SELECTOR).forEach(function (el) {
      var k = key(el);
      if (!Object.prototype.hasOwnProperty.call(draft, k)) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = draft[k];
      else el.value = draft[k];
      restored += 1;
      var search = el.form && el.form.matches("form[role=search][hx-get]") ? el.form : null;
      if (search && searches.indexOf(search) < 0) searches.push(search);
    });
    // A search put back is run again, so that the results are those of what is in its
    // boxes (an active search is a GET: nothing is written). A synthetic submit event is
    // handled by htmx (once it has set the page up) and never submits the form itself.
    if (searches.length) {
      setTimeout(function () {
        searches.forEach(function (form) {
          form.dispatchEvent(new Event("submit", {bubbles: true, cancelable: true}));
        });
      }, 0);
    }
    var messages = document.getElementById("messages");
    if (restored && messages && script) {
      var note = document.createElement("div");
      note.className = "alert alert-info";
      note.setAttribute("role", "status");
      note.setAttribute("data-testid", "draft-restored");
      note.textContent = script.getAttribute("data-restored");
      messages.appendChild(note);
    }
  });
})();
