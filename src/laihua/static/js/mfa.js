// After django-otp-webauthn's script has registered a passkey, go on to the page the button names
// (the recovery codes). Kept out of the page: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  document.addEventListener("otp_webauthn.register_complete", function (event) {
    var button = document.getElementById("passkey-register-button");
    var next = button && button.getAttribute("data-passkey-done");
    if (next) {
      window.location.assign(next);
    }
  });
})();
