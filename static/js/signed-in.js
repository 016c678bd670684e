// The page "Sign in again" on the exam page leads to (accounts/signed_in.html): tell the exam's
// tab at once that the login is back, so that it sends its queued answers without waiting for
// its next probe (static/js/exam-page.js, "signed out").

if (typeof BroadcastChannel !== "undefined") {
  const channel = new BroadcastChannel("procto-sign-in");
  channel.postMessage({ type: "signed-in" });
  channel.close();
}
