// Deep Linking: send the signed choice back to the LMS at once (the button is the fallback).
document.getElementById("lti-deep-link-return").submit();
