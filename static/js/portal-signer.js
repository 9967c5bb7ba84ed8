// Signing with a key the portal never sees (portal/signing/browser.py), without inline script.
//
// The contract a page relies on, which a USB token's signing plugin (a local service the
// page calls, as Vietnamese CAs ship) can fulfil instead of WebCrypto, by defining
// window.PortalSigner before this file runs:
//
//   window.PortalSigner = {
//     certificate(): Promise<string|null>   the signer's certificate (PEM), null without a key
//     sign(toBeSignedBase64, digestHex): Promise<string>
//        toBeSignedBase64: the DER of the CMS signed attributes to sign;
//        digestHex: their SHA-256 (for a signer that signs a digest);
//        answers the signature in base64: ECDSA as r||s (WebCrypto) or DER, RSA PKCS#1 v1.5.
//   }
//
// The reference implementation below keeps a non-extractable ECDSA P-256 key in IndexedDB,
// one per portal user, made on the signing key page with a PKCS#10 request built here.
//
// Markup it takes over:
//   [data-browser-enrol]  a button: make a key, send its request to data-enrol-url (with the
//                         CSRF token of data-csrf), keep the key and certificate, reload;
//   [data-browser-key-status]  filled with data-msg-present or data-msg-absent;
//   [data-browser-sign]   a button in the sign dialog: POST data-prepare-url, sign, POST the
//                         answer's finish_url, go to the page it names. Messages in the
//                         dialog's [data-browser-error], texts from data-msg-* attributes.
(function () {
  "use strict";

  // --- DER, as much as a PKCS#10 request needs ---------------------------------------------
  function concat(parts) {
    var length = parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(length);
    var offset = 0;
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }

  function tlv(tag, content) {
    var n = content.length;
    var header;
    if (n < 0x80) header = [tag, n];
    else if (n < 0x100) header = [tag, 0x81, n];
    else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
    else header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
    return concat([new Uint8Array(header), content]);
  }

  function sequence(items) { return tlv(0x30, concat(items)); }

  function integer(bytes) {  // an unsigned big-endian integer
    var i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    bytes = bytes.subarray(i);
    if (bytes[0] & 0x80) bytes = concat([new Uint8Array([0]), bytes]);
    return tlv(0x02, bytes);
  }

  function oid(text) {
    var parts = text.split(".").map(Number);
    var out = [40 * parts[0] + parts[1]];
    parts.slice(2).forEach(function (value) {
      var chunk = [value & 0x7f];
      value = Math.floor(value / 128);
      while (value > 0) { chunk.unshift((value & 0x7f) | 0x80); value = Math.floor(value / 128); }
      out = out.concat(chunk);
    });
    return tlv(0x06, new Uint8Array(out));
  }

  function utf8(text) { return tlv(0x0c, new TextEncoder().encode(text)); }

  function ecdsaDer(raw) {  // WebCrypto's r||s as an ECDSA-Sig-Value
    var half = raw.length / 2;
    return sequence([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  }

  async function certificationRequest(keyPair, commonName) {
    var spki = new Uint8Array(await crypto.subtle.exportKey("spki", keyPair.publicKey));
    var subject = sequence([tlv(0x31, sequence([oid("2.5.4.3"), utf8(commonName)]))]);
    var info = sequence([integer(new Uint8Array([0])), subject, spki, tlv(0xa0, new Uint8Array(0))]);
    var raw = new Uint8Array(await crypto.subtle.sign(
      {name: "ECDSA", hash: "SHA-256"}, keyPair.privateKey, info));
    var algorithm = sequence([oid("1.2.840.10045.4.3.2")]);  // ecdsa-with-SHA256
    var signature = tlv(0x03, concat([new Uint8Array([0]), ecdsaDer(raw)]));
    return sequence([info, algorithm, signature]);
  }

  function toBase64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  function fromBase64(value) {
    var text = atob(value);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  // --- the key in IndexedDB -------------------------------------------------------------
  var STORE = "keys";

  function openDatabase() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open("portal-signer", 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  async function stored(name, value) {
    var database = await openDatabase();
    return new Promise(function (resolve, reject) {
      var transaction = database.transaction(STORE, value === undefined ? "readonly" : "readwrite");
      var store = transaction.objectStore(STORE);
      var request = value === undefined ? store.get(name) : store.put(value, name);
      transaction.oncomplete = function () { resolve(request.result); };
      transaction.onerror = function () { reject(transaction.error); };
    });
  }

  function userSlot() {
    var holder = document.querySelector("[data-signer-user]");
    return "user:" + (holder ? holder.dataset.signerUser : "");
  }

  var webCryptoSigner = {
    certificate: async function () {
      var entry = await stored(userSlot());
      return entry ? entry.certificate : null;
    },
    sign: async function (toBeSignedBase64) {
      var entry = await stored(userSlot());
      if (!entry) throw new Error("no-key");
      var raw = await crypto.subtle.sign(
        {name: "ECDSA", hash: "SHA-256"}, entry.privateKey, fromBase64(toBeSignedBase64));
      return toBase64(new Uint8Array(raw));
    },
    enrol: async function (commonName, send) {
      // Non-extractable: the private key never leaves this browser's key store.
      var keyPair = await crypto.subtle.generateKey(
        {name: "ECDSA", namedCurve: "P-256"}, false, ["sign", "verify"]);
      var csr = await certificationRequest(keyPair, commonName);
      var answer = await send(toBase64(csr));
      await stored(userSlot(), {privateKey: keyPair.privateKey, certificate: answer.certificate});
      return answer;
    },
  };

  if (!window.PortalSigner) window.PortalSigner = webCryptoSigner;

  // --- the pages --------------------------------------------------------------------------
  async function post(url, fields) {
    var body = new FormData();
    Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
    var response = await fetch(url, {method: "POST", body: body, credentials: "same-origin",
                                     headers: {"Accept": "application/json"}});
    var answer = {};
    try { answer = await response.json(); } catch (error) { answer = {}; }
    if (!response.ok) {
      var failure = new Error(answer.error || "failed");
      failure.shown = Boolean(answer.error);
      throw failure;
    }
    return answer;
  }

  function say(where, text) {
    if (!where) return;
    where.textContent = text;
    where.hidden = !text;
  }

  function messageOf(element, error) {
    if (error && error.shown) return error.message;
    if (error && error.message === "no-key") return element.dataset.msgNoKey;
    return element.dataset.msgFailed;
  }

  function enrolButton(button) {
    var box = button.closest("[data-browser-key]") || document;
    var error = box.querySelector("[data-browser-error]");
    button.addEventListener("click", async function () {
      button.disabled = true;
      say(error, "");
      try {
        var answer = await webCryptoSigner.enrol(button.dataset.commonName || "signer", function (csr) {
          return post(button.dataset.enrolUrl, {csrf_token: button.dataset.csrf, csr: csr});
        });
        window.location.assign(answer.redirect);
      } catch (failure) {
        say(error, messageOf(button, failure));
        button.disabled = false;
      }
    });
  }

  function signButton(button) {
    var box = button.closest("[data-browser-dialog]") || document;
    var error = box.querySelector("[data-browser-error]");
    var busy = box.querySelector("[data-browser-busy]");
    button.addEventListener("click", async function () {
      button.disabled = true;
      say(error, "");
      if (busy) busy.hidden = false;
      try {
        var prepared = await post(button.dataset.prepareUrl, {csrf_token: button.dataset.csrf});
        var signature = await window.PortalSigner.sign(prepared.to_be_signed, prepared.digest);
        var done = await post(prepared.finish_url, {
          csrf_token: button.dataset.csrf,
          signature: signature,
          document_sha256: prepared.document_sha256,
        });
        window.location.assign(done.redirect);
      } catch (failure) {
        say(error, messageOf(button, failure));
        button.disabled = false;
        if (busy) busy.hidden = true;
      }
    });
  }

  async function keyStatus(element) {
    var certificate = null;
    try { certificate = await window.PortalSigner.certificate(); } catch (error) { certificate = null; }
    element.textContent = certificate ? element.dataset.msgPresent : element.dataset.msgAbsent;
    element.dataset.present = certificate ? "yes" : "no";
  }

  function start(root) {
    root.querySelectorAll("[data-browser-enrol]:not([data-ready])").forEach(function (b) {
      b.dataset.ready = "1"; enrolButton(b);
    });
    root.querySelectorAll("[data-browser-sign]:not([data-ready])").forEach(function (b) {
      b.dataset.ready = "1"; signButton(b);
    });
    root.querySelectorAll("[data-browser-key-status]:not([data-ready])").forEach(function (e) {
      e.dataset.ready = "1"; keyStatus(e);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { start(document); });
  // The sign dialog arrives as an htmx fragment.
  document.addEventListener("htmx:load", function (event) { start(event.target); });
})();
