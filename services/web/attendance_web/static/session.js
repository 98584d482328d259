// Take attendance, progressively enhanced: drag and drop several photos, upload progress per photo,
// then each photo's stage live (queued, finding faces, recognising, done, failed with the reason)
// from /sessions/<id>/status.json. Without JavaScript the form posts as usual.
(function () {
  "use strict";
  var form = document.querySelector("form[data-take-attendance]");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }

  var input = form.querySelector("input[type=file]:not([data-camera])");
  var pickers = form.querySelectorAll("input[type=file]"); // the chooser, and on a phone the camera (data-camera)
  var zone = form.querySelector("[data-dropzone]") || input.parentNode;
  var list = form.querySelector("[data-upload-list]");
  var formError = form.querySelector("[data-form-error]");
  var submit = form.querySelector("[data-submit]") || form.querySelector("button[type=submit]");
  var sessionInput = form.querySelector("[data-session-id]");
  var notice = form.querySelector("[data-form-notice]");
  var live = document.querySelector("[data-live]");
  var photoCount = document.querySelector("[data-photo-count]"); // "Add more photos": the session's photos so far
  var maxBytes = (parseInt(form.getAttribute("data-max-upload-mb"), 10) || 40) * 1024 * 1024;
  var budget = Math.max(maxBytes - 512 * 1024, 1024 * 1024); // room for the rest of the multipart body
  var rows = []; // {file, li, bar, text, state, photoId}
  var busy = false;

  if (!list) { list = el("ul", "upload-list"); form.insertBefore(list, submit); }
  if (!formError) { formError = el("p", "error"); formError.setAttribute("role", "alert"); form.insertBefore(formError, submit); }
  // Each photo refused or failed is also said to a screen reader (the list itself is not a live region: its
  // progress would be read out all the time). Made now, empty, so that assistive technology follows it.
  var spoken = el("div", "sr-only");
  spoken.setAttribute("role", "status");
  spoken.setAttribute("aria-live", "polite");
  spoken.setAttribute("data-upload-announcer", "");
  list.parentNode.insertBefore(spoken, list.nextSibling);
  Array.prototype.forEach.call(form.querySelectorAll(".js-only"), function (n) { n.hidden = false; });
  zone.classList.add("dropzone");
  input.removeAttribute("required");

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text) { n.textContent = text; }
    return n;
  }

  // One sentence more for the screen reader; only what is added is read out.
  function tell(text) { spoken.appendChild(el("p", null, text)); }

  function notUploaded(row, reason) { tell(row.file.name + " was not uploaded: " + reason); }

  // A photo alone over the limit: "too large: the limit is N MB per photo", not advice to send fewer at once.
  function tooLargePhoto(file) {
    return file.name + " " + (form.getAttribute("data-too-large-photo") ||
      "is too large: the limit is " + Math.round(maxBytes / 1048576) + " MB per photo. Please choose a smaller copy of it.");
  }

  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  var LABELS = {
    ready: "Ready", uploading: "Uploading", stored: "Uploaded", queued: "Waiting for its turn",
    processing: "Starting", detecting: "Finding faces", matching: "Recognising students", done: "Done",
    failed: "Failed", refused: "Not accepted", duplicate: "Already in this session"
  };

  function setState(row, state, detail) {
    row.state = state;
    row.li.className = "upload upload--" + state;
    row.text.textContent = LABELS[state] + (detail ? ": " + detail : "");
    if (row.remove) { row.remove.hidden = state !== "ready"; }
  }

  function addFiles(files) {
    if (busy) { return; }
    Array.prototype.forEach.call(files, function (file) {
      var li = el("li", "upload");
      var name = el("span", "upload-name", file.name);
      var meta = el("span", "muted", size(file.size));
      var bar = el("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", "Upload of " + file.name);
      var text = el("span", "upload-state");
      var remove = el("button", "link", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove " + file.name);
      var row = { file: file, li: li, bar: bar, text: text, remove: remove, state: "ready", photoId: null };
      remove.addEventListener("click", function () {
        rows.splice(rows.indexOf(row), 1);
        list.removeChild(li);
      });
      li.appendChild(name); li.appendChild(meta); li.appendChild(bar); li.appendChild(text); li.appendChild(remove);
      list.appendChild(li);
      rows.push(row);
      if (file.size > budget) {
        var tooLarge = tooLargePhoto(file);
        setState(row, "refused", tooLarge);
        notUploaded(row, tooLarge);
      } else {
        setState(row, "ready");
      }
    });
    formError.textContent = "";
  }

  Array.prototype.forEach.call(pickers, function (picker) {
    picker.addEventListener("change", function () {
      addFiles(picker.files);
      picker.value = ""; // choosing again (or the next photo from the camera) adds to the list instead of replacing it
    });
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("dropzone--over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.remove("dropzone--over");
    });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files) { addFiles(event.dataTransfer.files); }
  });

  function batches(ready) {
    var out = [], current = [], total = 0;
    ready.forEach(function (row) {
      if (current.length && total + row.file.size > budget) { out.push(current); current = []; total = 0; }
      current.push(row); total += row.file.size;
    });
    if (current.length) { out.push(current); }
    return out;
  }

  function fields(hold) {
    var data = new FormData();
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.type === "file" || field.disabled) { return; }
      data.append(field.name, field.value);
    });
    if (hold) { data.append("hold", "y"); }
    return data;
  }

  // S3 configured: each photo goes from this page straight to the bucket (direct.js), and the web only registers
  // it; the answer has the same shape as a posted batch's, so everything after is the same.
  var direct = form.getAttribute("data-direct-sign") && window.attendanceDirect && window.attendanceDirect.available() ?
    window.attendanceDirect : null;
  if (direct) { budget = maxBytes; } // one photo per POST to S3: the limit is per photo, never per batch

  function sendDirect(batch, hold) {
    batch.forEach(function (row) { setState(row, "uploading"); });
    var failed = [], tickets = [];
    var extra = { session_id: sessionInput && sessionInput.value ? sessionInput.value : null };
    var files = batch.map(function (row) { return row.file; });
    return direct.sign(form, files, files.map(sentName), extra).then(function (signed) {
      if (!signed.ok) { return { status: signed.status, body: signed.body }; }
      var uploads = (signed.body.uploads || []).slice();
      var chain = Promise.resolve();
      batch.forEach(function (row) {
        var i = -1;
        for (var k = 0; k < uploads.length; k++) { if (uploads[k].filename === serverName(row.file)) { i = k; break; } }
        if (i < 0) { return; }
        var up = uploads.splice(i, 1)[0];
        chain = chain.then(function () {
          return direct.upload(up, row.file, function (pct) { row.bar.value = pct; });
        }).then(function (why) {
          if (why) { failed.push({ code: why, filename: up.filename, message: up.messages[why] }); }
          else { tickets.push(up.ticket); }
        });
      });
      return chain.then(function () {
        var errors = (signed.body.errors || []).concat(failed);
        if (!tickets.length) { return { status: 400, body: { errors: errors } }; }
        return direct.register(form, fields(hold), tickets).then(function (result) {
          result.body = result.body || {};
          result.body.errors = errors.concat(result.body.errors || []);
          return result;
        });
      });
    }).catch(function () { return { status: 0, body: null }; });
  }

  function send(batch, hold) {
    if (direct) { return sendDirect(batch, hold); }
    return new Promise(function (resolve) {
      var data = fields(hold);
      batch.forEach(function (row) { data.append(input.name, row.file, sentName(row.file)); });
      var starts = [], at = 0;
      batch.forEach(function (row) { starts.push(at); at += row.file.size; setState(row, "uploading"); });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable) { return; }
        var sent = event.loaded * (at / Math.max(event.total, 1)); // bytes of photos sent so far
        batch.forEach(function (row, i) {
          var pct = (sent - starts[i]) / Math.max(row.file.size, 1);
          row.bar.value = Math.round(100 * Math.min(1, Math.max(0, pct)));
        });
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        resolve({ status: xhr.status, body: body });
      });
      xhr.addEventListener("error", function () { resolve({ status: 0, body: null }); });
      xhr.send(data);
    });
  }

  // The name a file is sent under: without the characters multipart encoding escapes or the server reads as a
  // path (a backslash, a quote, a line break), so the name the server reports it by (uploads.display_name) is
  // this one cut to 120 characters (code points, as Python counts them), and each verdict finds its row.
  function sentName(file) {
    return file.name.replace(/[\\\/"\r\n]/g, "_") || "photo";
  }

  function serverName(file) {
    return Array.from(sentName(file)).slice(0, 120).join("");
  }

  function takeName(names, row) {
    var i = names ? names.indexOf(serverName(row.file)) : -1;
    if (i >= 0) { names.splice(i, 1); return true; }
    return false;
  }

  function settle(batch, result) {
    var body = result.body || {};
    var refusals = (body.errors || []).slice();
    var added = (body.added || []).slice();
    var duplicates = (body.duplicates || []).slice();
    batch.forEach(function (row) {
      row.bar.value = 100;
      var refusal = null;
      for (var i = 0; i < refusals.length; i++) {
        if (refusals[i].filename === serverName(row.file)) { refusal = refusals.splice(i, 1)[0]; break; }
      }
      if (refusal) { setState(row, "refused", refusal.message); notUploaded(row, refusal.message); }
      else if (takeName(duplicates, row)) {
        setState(row, "duplicate");
        // Which session, in words: on a new session's form "this session" would be the one being made.
        if (body.already_in) { row.text.textContent = "Already in the session of " + body.already_in.title; }
        tell(row.file.name + " was not added: it is already in " +
          (body.already_in ? "the session of " + body.already_in.title : "this session") + ".");
      }
      else if (takeName(added, row)) { setState(row, "stored"); }
      else {
        var message = body.error && body.error.message;
        var reason = result.status === 413 && batch.length === 1 ? tooLargePhoto(row.file) :
          result.status === 413 ? "the upload was too large; please send fewer photos at once" :
          result.status === 0 ? "the connection was lost; please try again" :
          message || "the server could not store it; please try again";
        setState(row, "failed", reason);
        notUploaded(row, reason);
      }
    });
    if (result.status >= 400 && body.error && body.error.code === "invalid_form") {
      formError.textContent = body.error.message;
    }
  }

  // Once a batch has made (or named) the session, every later batch and any photos chosen again on
  // this page go to that same session by id: never a second session, never a silent merge by label.
  function useSession(body) {
    if (sessionInput) { sessionInput.value = body.session_id; }
    ["date", "label"].forEach(function (name) {
      var input = form.elements[name];
      if (!input || input.type === "hidden") { return; }
      if (typeof body[name] === "string") { input.value = body[name]; }
      input.disabled = true;
    });
    if (notice && body.notice) { notice.textContent = body.notice; notice.hidden = false; }
    if (submit) { submit.textContent = "Upload and add to this session"; }  // say where more photos go
  }

  // What the form looked like before a submission: put back when it added nothing (every photo was already in
  // a session), so that photos chosen next are not filed into the session that held them.
  function snapshot() {
    var named = {};
    ["date", "label"].forEach(function (name) {
      var input = form.elements[name];
      if (input && input.type !== "hidden") { named[name] = { value: input.value, disabled: input.disabled }; }
    });
    return { session: sessionInput ? sessionInput.value : null, named: named, submit: submit ? submit.textContent : "" };
  }

  function restore(before) {
    if (sessionInput) { sessionInput.value = before.session; }
    Object.keys(before.named).forEach(function (name) {
      form.elements[name].value = before.named[name].value;
      form.elements[name].disabled = before.named[name].disabled;
    });
    if (submit) { submit.textContent = before.submit; }
  }

  // Every photo was already in a session: say which one, with a link, and start nothing.
  function tellAlreadyIn(already) {
    if (!notice) { return; }
    notice.textContent = already.message + " ";
    var link = el("a", null, "Open that session");
    link.href = already.review_url;
    notice.appendChild(link);
    notice.setAttribute("data-already-in", "");
    notice.hidden = false;
  }

  function postJson(url) {
    var data = fields(false);
    return fetch(url, {
      method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : null; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) { return; }
    var ready = rows.filter(function (row) { return row.state === "ready" || row.state === "failed"; });
    if (!ready.length) {
      formError.textContent = "Choose at least one classroom photo.";
      input.focus();
      return;
    }
    busy = true;
    submit.disabled = true;
    formError.textContent = "";
    spoken.textContent = "";
    if (notice && notice.hasAttribute("data-already-in")) {
      notice.removeAttribute("data-already-in"); notice.hidden = true; notice.textContent = "";
    }
    var before = snapshot();
    var groups = batches(ready);
    var session = null, job = null, addedAny = false, already = null;
    var chain = Promise.resolve();
    groups.forEach(function (batch, index) {
      chain = chain.then(function () {
        return send(batch, index < groups.length - 1).then(function (result) {
          settle(batch, result);
          if (result.body && result.body.session_id) { session = result.body; useSession(result.body); }
          if (result.body && result.body.job_id) { job = result.body.job_id; }
          if (result.body && result.body.added && result.body.added.length) {
            addedAny = true;
            if (photoCount) { photoCount.textContent = String((parseInt(photoCount.textContent, 10) || 0) + result.body.added.length); }
          }
          if (result.body && result.body.already_in) { already = result.body.already_in; }
        });
      });
    });
    chain.then(function () {
      // The last batch failed after earlier ones were stored: start recognition now. Never when nothing was
      // added (every photo already there): that would recognise every photo of the session again.
      if (session && !job && addedAny) {
        return postJson(session.start_url).then(function (body) { job = body && body.job_id; });
      }
    }).then(function () {
      busy = false;
      submit.disabled = false;
      if (session && job) { follow(session); return; }
      if (already && !addedAny) { restore(before); tellAlreadyIn(already); }
      else if (!formError.textContent) { formError.textContent = "No photo could be used. See the reason next to each file."; }
      keepFocus();
    }).catch(function () {
      busy = false;
      submit.disabled = false;
      formError.textContent = "Something went wrong while uploading. Please try again.";
      keepFocus();
    });
  });

  // The button was disabled while sending (which can drop focus to the page): a keyboard user stays on it.
  function keepFocus() {
    var active = document.activeElement;
    if (!active || active === document.body) { submit.focus(); }
  }

  // Focus without the browser's jump; scroll only when the element would otherwise be out of view.
  function focusVisibly(target) {
    target.focus({ preventScroll: true });
    var box = target.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) { target.scrollIntoView({ block: "center" }); }
  }

  // --- live progress after the upload ------------------------------------------------------------

  function follow(session) {
    if (!live) { live = el("section", "card"); form.parentNode.insertBefore(live, form.nextSibling); }
    live.hidden = false;
    var progress = live.querySelector("[data-job-progress]");
    var message = live.querySelector("[data-live-message]");
    var link = live.querySelector("[data-review-link]");
    if (link) { link.href = session.review_url; }
    var delay = 1000;
    // The upload is done: on to what happens next (the heading names it, the progress and message follow it).
    var heading = live.querySelector("h2") || live;
    heading.setAttribute("tabindex", "-1");
    focusVisibly(heading);

    function render(data) {
      var photos = (data.photos || []).slice();
      rows.forEach(function (row) {
        if (["stored", "queued", "processing", "detecting", "matching", "done", "failed"].indexOf(row.state) < 0) { return; }
        if (row.state === "failed" && row.photoId === null) { return; } // never reached the server
        var photo = null;
        for (var i = 0; i < photos.length; i++) {
          if (row.photoId === photos[i].id || (row.photoId === null && photos[i].filename === serverName(row.file))) {
            photo = photos.splice(i, 1)[0]; break;
          }
        }
        if (!photo) { return; }
        row.photoId = photo.id;
        if (photo.status === "failed" && row.state !== "failed") {
          tell(row.file.name + " could not be recognised: " + (photo.error || "please try another photo") + ".");
        }
        var detail = photo.status === "failed" ? photo.error :
          (photo.status === "done" && photo.face_count !== null ? photo.face_count + " face" + (photo.face_count === 1 ? "" : "s") : "");
        setState(row, photo.status, detail);
      });
      if (progress && data.job) { progress.value = data.job.progress; progress.textContent = data.job.progress + "%"; }
      if (message) {
        var text = data.job && data.job.message ? data.job.message : "Waiting for the recognition to start…";
        if (data.job && data.job.error) { text = data.job.error; }
        if (finished(data)) { text = "Finished: " + outcome(data) + "."; }
        message.textContent = text;
      }
      if (finished(data)) { finish(); }
      if (link) {
        link.hidden = false;
        link.textContent = finished(data) ? "Review" : data.done ? "Review attendance" : "Open the review page now (it updates by itself)";
        link.classList.toggle("primary", !!data.done);
        // Done: the way on to the review, unless the teacher has meanwhile moved on elsewhere on the page.
        var active = document.activeElement;
        if (data.done && (!active || active === document.body || live.contains(active))) { focusVisibly(link); }
      }
    }

    // Recognition finished: "N present, M to confirm, K unknown" (the review page's counts, from status.json).
    function finished(data) { return !!data.done && !!data.job && data.job.state === "succeeded"; }

    function outcome(data) {
      return data.present + " present, " + data.to_confirm + " to confirm, " + data.unknown + " unknown";
    }

    // The page is done with this lesson: no upload button that would add the next lesson's photo to this session,
    // but the way on to the review and, beside it, to another lesson (a fresh page, a new session).
    function finish() {
      var heading = live.querySelector("h2");
      if (heading) { heading.textContent = "Attendance taken"; }
      if (progress) { progress.hidden = true; }
      Array.prototype.forEach.call(form.querySelectorAll("[data-dropzone], .take-fields, .camera-pick, [data-submit], [data-form-notice]"),
        function (node) { node.hidden = true; });
      var another = live.querySelector("[data-another-lesson]");
      if (another) { another.hidden = false; }
    }

    function poll() {
      fetch(session.status_url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { setTimeout(poll, 3000); return; }
          render(data);
          if (!data.done) { delay = Math.min(delay * 1.2, 3000); setTimeout(poll, delay); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    poll();
  }
})();
