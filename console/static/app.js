// todoku console: the little behaviour htmx does not give. No inline
// scripts (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  // Keep the newest message in view when the thread grows, unless the reader
  // has scrolled up to read something older.
  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 160;
  }
  var follow = true;
  window.addEventListener("scroll", function () { follow = nearBottom(); }, { passive: true });
  function toEnd() {
    var end = document.getElementById("end");
    if (end) end.scrollIntoView({ block: "end" });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("thread")) toEnd();
  });
  document.addEventListener("htmx:oobAfterSwap", function (e) {
    if (e.detail && e.detail.target && e.detail.target.id === "thread" && follow) toEnd();
  });

  // Ctrl/Cmd + Enter sends the reply.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.id === "reply-text") {
      e.preventDefault();
      e.target.form.requestSubmit();
    }
  });

  // A form submits once: a double click must not send a reply twice.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset.sent) { e.preventDefault(); return; }
    f.dataset.sent = "1";
    var b = f.querySelector("button[type=submit], button:not([type])");
    if (b) b.disabled = true;
  });
})();
