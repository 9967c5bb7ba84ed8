// Passkeys (WebAuthn) for the second-factor pages (portal/auth/mfa_routes.py), without
// inline script: a form marked data-passkey="create" or "get" is taken over on submit.
//   1. its fields (CSRF token, the passkey's name) are POSTed with fetch to
//      data-options-url, which answers the options as JSON (binary values in base64url);
//   2. the browser creates or uses the passkey (navigator.credentials);
//   3. its answer, as JSON with base64url values, goes into the hidden "credential" field
//      and the form is submitted as a plain POST: the server answers with a page.
// Messages come from the form's data-msg-* attributes, in the page's language.
(function () {
  "use strict";

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var text = atob(base64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  function withBuffers(descriptors) {
    return (descriptors || []).map(function (d) {
      return Object.assign({}, d, {id: fromBase64url(d.id)});
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      user: Object.assign({}, json.user, {id: fromBase64url(json.user.id)}),
      excludeCredentials: withBuffers(json.excludeCredentials),
    });
    if (!options.hints) delete options.hints;
    return options;
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      allowCredentials: withBuffers(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults ?
        credential.getClientExtensionResults() : {},
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: {clientDataJSON: toBase64url(response.clientDataJSON)},
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      if (response.getTransports) out.response.transports = response.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      if (response.userHandle) out.response.userHandle = toBase64url(response.userHandle);
    }
    return JSON.stringify(out);
  }

  function showError(form, message) {
    var box = form.querySelector("[data-passkey-error]");
    if (!box) return;
    box.textContent = message;
    box.classList.remove("d-none");
  }

  function clearError(form) {
    var box = form.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = "";
      box.classList.add("d-none");
    }
  }

  function fetchOptions(form) {
    var token = form.querySelector("input[name=csrf_token]");
    return fetch(form.getAttribute("data-options-url"), {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": token ? token.value : ""},
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          if (body.redirect) window.location.assign(body.redirect);
          throw new Error(body.error || form.getAttribute("data-msg-failed"));
        }
        return body;
      });
    });
  }

  function ceremony(form) {
    var mode = form.getAttribute("data-passkey");
    return fetchOptions(form).then(function (json) {
      if (mode === "create") {
        return navigator.credentials.create({publicKey: creationOptions(json)});
      }
      return navigator.credentials.get({publicKey: requestOptions(json)});
    });
  }

  function start(form, button) {
    clearError(form);
    if (!window.PublicKeyCredential || !navigator.credentials) {
      showError(form, form.getAttribute("data-msg-unsupported"));
      return;
    }
    if (button) button.disabled = true;
    ceremony(form).then(function (credential) {
      if (!credential) throw new Error(form.getAttribute("data-msg-failed"));
      form.querySelector("input[name=credential]").value = credentialJSON(credential);
      form.submit();
    }).catch(function (error) {
      if (button) button.disabled = false;
      var known = error && error.name && /Error$/.test(error.name) && error.name !== "Error";
      // The browser's own errors (NotAllowedError: cancelled or timed out, ...) are
      // English and technical: the page's own message stands for them.
      showError(form, !known && error && error.message ? error.message
        : form.getAttribute("data-msg-failed"));
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-passkey")) return;
    event.preventDefault();
    start(form, event.submitter || form.querySelector("button[type=submit]"));
  });
})();
