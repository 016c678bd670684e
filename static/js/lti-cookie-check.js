// LTI login inside the LMS's iframe (templates/sessions/lti_cookie_check.html): can this frame keep
// a cookie with the attributes Procto's session cookie will have? Then go on here; if not (the
// browser blocks third-party cookies), offer the same login in a new window, where Procto is the
// site the student visits and its cookies are first-party.
const box = document.getElementById("lti-cookie-check");
const continueUrl = box.dataset.continueUrl;
const TEST = "procto_cookie_check=1";

document.cookie = `${TEST}; path=/; ${box.dataset.testCookie}`;
if (document.cookie.split("; ").includes(TEST)) {
  document.cookie = `${TEST}; path=/; max-age=0; ${box.dataset.testCookie}`;
  window.location.replace(continueUrl);
} else {
  document.getElementById("lti-cookies-blocked").hidden = false;
  document.getElementById("lti-new-window").addEventListener("click", () => {
    // The link itself opens the window; this frame only says where the student went.
    document.getElementById("lti-cookies-blocked").hidden = true;
    document.getElementById("lti-new-window-opened").hidden = false;
  });
}
