// Photos straight to S3 (attendance_web/direct_uploads.py): the page announces each file to the web (name, type,
// size, SHA-256) and gets a presigned POST for it, POSTs the file to the bucket itself, then registers the uploads
// by their tickets. Loaded only when the store is S3 (forms carry data-direct-sign). session.js uses it for
// classroom photos; the portrait form is handled below. Without JavaScript (or without crypto.subtle, outside
// HTTPS), the forms post their photos to the web as always.
(function () {
  "use strict";

  function available() {
    return !!(window.fetch && window.FormData && window.XMLHttpRequest && window.Promise &&
      window.crypto && window.crypto.subtle && window.TextEncoder);
  }

  function csrf(form) {
    var field = form.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function hash(file) {
    return file.arrayBuffer().then(function (data) { return window.crypto.subtle.digest("SHA-256", data); }).then(hex);
  }

  // {ok, status, body}: body.uploads [{filename, url, fields, ticket, messages}] and body.errors [{filename, message, why}]
  function sign(form, files, names, extra) {
    return Promise.all(files.map(hash)).then(function (digests) {
      var announced = files.map(function (file, i) {
        return { name: names[i], type: file.type, size: file.size, sha256: digests[i] };
      });
      var body = Object.assign({ files: announced }, extra || {});
      return fetch(form.getAttribute("data-direct-sign"), {
        method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf(form) }
      }).then(function (r) {
        return r.json().catch(function () { return null; }).then(function (json) {
          return { ok: r.ok && !!json, status: r.status, body: json || {} };
        });
      });
    });
  }

  // What S3 answered, as one of the web's words for it (direct_uploads.REASONS); null when it took the file.
  function why(xhr) {
    if (xhr.status >= 200 && xhr.status < 300) { return null; }
    if (xhr.status === 0 || xhr.status >= 500) { return "missing"; }
    var code = "", message = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
      code = (doc.querySelector("Code") || {}).textContent || "";
      message = (doc.querySelector("Message") || {}).textContent || "";
    } catch (e) { code = ""; }
    if (code === "EntityTooLarge") { return "too_large"; }
    if (/expired/i.test(message) || code === "ExpiredToken" || code === "RequestTimeTooSkewed") { return "expired"; }
    return "unreadable";
  }

  // POST one file to the bucket with its signed fields; resolves with null (stored) or why it was not.
  function upload(signed, file, progress) {
    return new Promise(function (resolve) {
      var data = new FormData();
      Object.keys(signed.fields).forEach(function (name) { data.append(name, signed.fields[name]); });
      data.append("file", file);  // S3 reads the fields before the file: it must come last
      var xhr = new XMLHttpRequest();
      xhr.open("POST", signed.url);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable && progress) { progress(Math.round(100 * event.loaded / Math.max(event.total, 1))); }
      });
      xhr.addEventListener("load", function () { resolve(why(xhr)); });
      xhr.addEventListener("error", function () { resolve("missing"); });
      xhr.addEventListener("abort", function () { resolve("missing"); });
      xhr.send(data);
    });
  }

  // The form's own fields (CSRF token, session, date...) and a ticket per uploaded photo, to data-direct-register.
  function register(form, data, tickets) {
    tickets.forEach(function (ticket) { data.append("ticket", ticket); });
    return fetch(form.getAttribute("data-direct-register"), {
      method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (json) { return { status: r.status, body: json }; });
    }, function () { return { status: 0, body: null }; });
  }

  window.attendanceDirect = { available: available, sign: sign, upload: upload, register: register };

  // --- the portrait form (the student page) ---------------------------------------------------------------
  var form = document.querySelector("form[data-direct-sign]:not([data-take-attendance])");
  if (!form || !available()) { return; }
  var input = form.querySelector("input[type=file]");
  var status = document.createElement("p");
  status.setAttribute("role", "status");
  status.setAttribute("data-direct-status", "");
  form.insertBefore(status, form.querySelector("button[type=submit]"));

  form.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) { return; }  // the web says "Choose at least one photo"
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "Uploading " + files.length + " photo(s)…";
    var names = files.map(function (f) { return f.name; });
    var failed = [], tickets = [];
    sign(form, files, names, {}).then(function (signed) {
      if (!signed.ok) { throw new Error((signed.body.error && signed.body.error.message) || "sign"); }
      (signed.body.errors || []).forEach(function (e) { failed.push((e.why || "unreadable") + ":" + e.filename); });
      var uploads = (signed.body.uploads || []).slice();
      var chain = Promise.resolve();
      files.forEach(function (file) {
        var i = -1;
        for (var k = 0; k < uploads.length; k++) { if (uploads[k].filename === Array.from(file.name).slice(0, 120).join("")) { i = k; break; } }
        if (i < 0) { return; }
        var up = uploads.splice(i, 1)[0];
        chain = chain.then(function () {
          return upload(up, file, function (pct) { status.textContent = "Uploading " + up.filename + ": " + pct + "%"; });
        }).then(function (reason) {
          if (reason) { failed.push(reason + ":" + up.filename); } else { tickets.push(up.ticket); }
        });
      });
      return chain;
    }).then(function () {
      var data = new FormData();
      Array.prototype.forEach.call(form.querySelectorAll("input[type=hidden]"), function (field) {
        if (field.name) { data.append(field.name, field.value); }
      });
      failed.forEach(function (f) { data.append("failed", f); });
      return register(form, data, tickets);
    }).then(function (result) {
      if (result.body && result.body.redirect) { window.location.assign(result.body.redirect); return; }
      throw new Error("register");
    }).catch(function (error) {
      button.disabled = false;
      status.textContent = error && error.message && error.message.length > 20 ? error.message :
        "Something went wrong while uploading; nothing was saved. Please try again.";
    });
  });
})();
