// Laihua's few behaviours, kept out of the pages so that the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  // A <select data-autosubmit> sends its form when changed (a <noscript> button does it without script).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });
  // A form with data-reset-on="Header-Name" is cleared after an htmx request whose answer carries that header.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form[data-reset-on]");
    var xhr = event.detail && event.detail.xhr;
    if (form && xhr && xhr.getResponseHeader(form.getAttribute("data-reset-on"))) {
      form.reset();
    }
  });
})();
