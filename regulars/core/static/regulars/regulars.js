// Behaviour shared by the desk and the portal. No inline scripts anywhere (CSP): pages opt in
// through data attributes.
(function () {
  "use strict";
  // <form data-confirm="Really?">: ask before submitting a destructive form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);
  // Keep the CSRF token on htmx requests made after a session rotation.
  document.addEventListener("htmx:configRequest", function (event) {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { event.detail.headers["X-CSRFToken"] = decodeURIComponent(match[1]); }
  });
})();
