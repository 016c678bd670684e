// One modal for the actions that need words from the proctor: a warning to a student, the reason
// for dismissing an alert. It stays open, with the server's message, when the action fails.

export function createActionDialog(dialogEl) {
  const q = (selector) => dialogEl.querySelector(selector);
  const form = q("#action-form");
  const title = q("#action-title");
  const subject = q("#action-subject");
  const presets = q("#action-presets");
  const label = q("#action-label");
  const text = q("#action-text");
  const error = q("#action-error");
  const submit = q("#action-submit");
  let current = null;

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current || submit.getAttribute("aria-disabled") === "true") return;
    const value = text.value.trim();
    if (current.required && !value) {
      showError(current.missing || gettext("Please write something first."));
      text.focus();
      return;
    }
    // aria-disabled, not disabled: a disabled button loses the focus, and a keyboard user with it.
    submit.setAttribute("aria-disabled", "true");
    try {
      await current.onSubmit(value);
      current = null;
      dialogEl.close();
    } catch (err) {
      showError(err.message || gettext("That did not work. Please try again."));
    } finally {
      submit.removeAttribute("aria-disabled");
    }
  });
  q("#action-cancel").addEventListener("click", () => dialogEl.close());
  let returnFocus = null;
  dialogEl.addEventListener("close", () => {
    current = null;
    // The browser gives the focus back to what opened the dialog; when that went away meanwhile
    // (an alert reviewed: its buttons are gone), the focus would stay behind in the closed dialog.
    const target = returnFocus?.();
    returnFocus = null;
    const lost = document.activeElement === document.body || dialogEl.contains(document.activeElement);
    if (target && lost) target.focus();
  });

  return {
    /**
     * open({title, subject, label, submitLabel, presets, required, maxLength, missing, onSubmit})
     * onSubmit(text) is awaited; an error it throws is shown in the dialog. returnFocus() names
     * where the focus goes on closing if what opened the dialog is gone by then.
     */
    open(options) {
      current = { required: true, maxLength: 500, presets: [], ...options };
      returnFocus = current.returnFocus || null;
      title.textContent = current.title;
      subject.textContent = current.subject || "";
      label.textContent = current.label;
      submit.textContent = current.submitLabel;
      text.value = current.initial || "";
      text.maxLength = current.maxLength;
      text.required = current.required;
      showError("");
      presets.replaceChildren(
        ...current.presets.map((preset) => {
          const button = document.createElement("button");
          button.type = "button";
          button.className = "preset small";
          button.textContent = preset;
          button.addEventListener("click", () => {
            text.value = preset;
            text.focus();
          });
          return button;
        }),
      );
      presets.hidden = current.presets.length === 0;
      dialogEl.showModal();
      text.focus();
    },
  };
}
