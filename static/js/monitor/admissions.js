// The monitor's admission panel (docs/PROTOCOL.md, "Admitting students"): students waiting to
// start an exam that a proctor admits each student to, with their verified photo beside the
// webcam capture of their identity check, and Admit / Deny buttons.
//
// The list is fetched at mount and again whenever the socket (re)opens or catches up (its
// "catch-up" answer), since requests made while it was away were not heard; between those,
// "admission" messages add and remove requests live. The panel is hidden while nobody waits.

import { ApiError, apiFetch } from "../api.js";
import { formatClock } from "../local-time.js";

const LIST_URL = "/api/exam-sessions/admissions";
const decideUrl = (id) => `/api/exam-sessions/admissions/${encodeURIComponent(id)}/decide`;
const TICK_MS = 15_000;
const GONE_AFTER_MS = 4000; // how long a card decided elsewhere stays, saying who decided

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function waitingFor(requestedAt) {
  const minutes = Math.floor((Date.now() - Date.parse(requestedAt)) / 60_000);
  if (!(minutes >= 1)) return gettext("Waiting since just now");
  return interpolate(gettext("Waiting %s min"), [minutes]);
}

function matchText(check) {
  if (!check) return { kind: "none", text: gettext("No identity check on this exam (its security level needs none).") };
  const numbers = { distance: check.distance.toFixed(2), threshold: check.threshold.toFixed(2) };
  return check.passed
    ? { kind: "ok", text: interpolate(gettext("Faces match (distance %(distance)s, match below %(threshold)s)."), numbers, true) }
    : {
        kind: "bad",
        text: interpolate(
          gettext("Faces do not match (distance %(distance)s, match below %(threshold)s). Look closely before admitting."),
          numbers,
          true,
        ),
      };
}

function figure(src, alt, caption, absent) {
  const box = element("figure", "admission-face");
  if (src) {
    const image = element("img");
    image.src = src;
    image.alt = alt;
    image.addEventListener(
      "error",
      () => image.replaceWith(element("div", "admission-no-image", gettext("Could not load the picture"))),
      { once: true },
    );
    box.append(image);
  } else {
    box.append(element("div", "admission-no-image", absent));
  }
  box.append(element("figcaption", "muted", caption));
  return box;
}

/**
 * Mount the panel in `section` (an empty, hidden <section>). `onMessage(type, handler)` is the
 * monitor socket's registration; `examId` narrows the panel to one exam. Returns {refresh}.
 */
export function mountAdmissions(section, { onMessage, examId = null } = {}) {
  const cards = new Map(); // admission id -> {data, node}
  section.classList.add("admissions");
  section.setAttribute("aria-labelledby", "admissions-title");
  const title = element("h2", null, gettext("Waiting to be admitted"));
  title.id = "admissions-title";
  const count = element("span", "admissions-count");
  title.append(" ", count);
  const problem = element("p", "status warn admissions-problem");
  problem.setAttribute("role", "alert");
  problem.hidden = true;
  const list = element("ul", "admissions-list");
  const announcer = element("p", "visually-hidden");
  announcer.setAttribute("role", "status");
  announcer.setAttribute("aria-live", "polite");
  section.replaceChildren(title, problem, list, announcer);

  function updateVisibility() {
    const waiting = [...cards.values()].filter((card) => !card.gone).length;
    count.textContent = waiting ? `(${waiting})` : "";
    section.hidden = cards.size === 0;
  }

  function buildCard(data) {
    const node = element("li", "admission-card");
    node.dataset.id = data.id;

    const who = element("div", "admission-who");
    who.append(element("strong", null, data.student.name));
    who.append(" ", element("span", "muted", data.student.email));
    if (!examId) who.append(element("span", "admission-exam", data.examTitle));
    const waiting = element("p", "admission-waiting muted", waitingFor(data.requestedAt));

    const check = data.identityCheck;
    const faces = element("div", "admission-faces");
    faces.append(
      figure(
        data.photoUrl,
        interpolate(gettext("Verified photo of %s"), [data.student.name]),
        gettext("Verified ID photo"),
        gettext("No verified photo"),
      ),
    );
    if (check) {
      const caption = interpolate(gettext("Webcam, %s"), [formatClock(check.checkedAt)]);
      faces.append(figure(check.captureUrl, interpolate(gettext("Webcam picture of %s"), [data.student.name]), caption));
    }
    const match = matchText(check);
    const matchLine = element("p", `admission-match match-${match.kind}`, match.text);

    const actions = element("div", "admission-actions");
    const admit = element("button", "small admit", gettext("Admit"));
    admit.type = "button";
    const deny = element("button", "small deny", gettext("Deny…"));
    deny.type = "button";
    actions.append(admit, deny);

    const denyForm = element("form", "admission-deny");
    denyForm.hidden = true;
    const label = element("label", null, gettext("Reason (the student reads it)"));
    const reason = element("input");
    reason.maxLength = 300;
    reason.required = true;
    reason.placeholder = gettext("e.g. Your face is not visible: remove the hood and ask again.");
    label.append(reason);
    const send = element("button", "small deny", gettext("Deny"));
    send.type = "submit";
    const cancel = element("button", "small", gettext("Cancel"));
    cancel.type = "button";
    denyForm.append(label, send, cancel);

    const note = element("p", "admission-note");
    note.setAttribute("role", "status");

    node.append(who, waiting, faces, matchLine, actions, denyForm, note);

    const card = { data, node, waiting, note, buttons: [admit, deny, send, cancel], gone: false };
    admit.addEventListener("click", () => decide(card, { admit: true }));
    deny.addEventListener("click", () => {
      denyForm.hidden = false;
      actions.hidden = true;
      reason.focus();
    });
    cancel.addEventListener("click", () => {
      denyForm.hidden = true;
      actions.hidden = false;
    });
    denyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = reason.value.trim();
      if (!text) {
        reason.setCustomValidity(gettext("Say why: the student reads it."));
        reason.reportValidity();
        return;
      }
      reason.setCustomValidity("");
      decide(card, { admit: false, reason: text });
    });
    reason.addEventListener("input", () => reason.setCustomValidity(""));
    return card;
  }

  function add(data) {
    if (examId && String(data.examId) !== String(examId)) return;
    const known = cards.get(data.id);
    if (known) {
      known.data = { ...known.data, ...data, photoUrl: known.data.photoUrl || data.photoUrl };
      known.waiting.textContent = waitingFor(known.data.requestedAt);
      return;
    }
    const card = buildCard(data);
    cards.set(data.id, card);
    list.append(card.node);
    announcer.textContent = interpolate(gettext("%s is waiting to be admitted."), [data.student.name]);
    updateVisibility();
  }

  function drop(id, text) {
    const card = cards.get(id);
    if (!card || card.gone) return;
    card.gone = true;
    card.node.classList.add("decided");
    card.buttons.forEach((button) => (button.disabled = true));
    card.note.textContent = text;
    updateVisibility();
    setTimeout(() => {
      card.node.remove();
      cards.delete(id);
      updateVisibility();
    }, GONE_AFTER_MS);
  }

  function decidedText(data) {
    const who = data.decidedBy || gettext("Someone");
    const names = { who, student: data.student.name, reason: data.reason };
    if (data.status === "admitted") return interpolate(gettext("%(who)s admitted %(student)s."), names, true);
    if (data.status === "denied") return interpolate(gettext("%(who)s denied %(student)s: %(reason)s"), names, true);
    return interpolate(gettext("%s is no longer waiting."), [data.student.name]);
  }

  async function decide(card, body) {
    card.buttons.forEach((button) => (button.disabled = true));
    card.note.textContent = body.admit ? gettext("Admitting…") : gettext("Denying…");
    try {
      const data = await apiFetch(decideUrl(card.data.id), { method: "POST", json: body });
      drop(card.data.id, decidedText(data));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "ALREADY_DECIDED" || error.status === 404) {
        drop(card.data.id, error.message);
        return;
      }
      card.note.textContent = error.message;
      card.buttons.forEach((button) => (button.disabled = false));
    }
  }

  let loading = null;
  let again = false;

  async function load() {
    if (loading) {
      again = true; // a message arrived mid-fetch: fetch once more when this one is done
      return loading;
    }
    loading = (async () => {
      try {
        const query = examId ? `?examId=${encodeURIComponent(examId)}` : "";
        const waiting = await apiFetch(`${LIST_URL}${query}`, { method: "GET" });
        problem.hidden = true;
        const ids = new Set(waiting.map((data) => data.id));
        for (const [id, card] of cards) {
          if (!ids.has(id) && !card.gone) drop(id, interpolate(gettext("%s is no longer waiting."), [card.data.student.name]));
        }
        waiting.forEach(add);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        problem.textContent = interpolate(
          gettext("Could not load the students waiting to be admitted: %s"),
          [error.message],
        );
        problem.hidden = false;
        section.hidden = false;
      } finally {
        loading = null;
      }
      if (again) {
        again = false;
        await load();
      }
    })();
    return loading;
  }

  function refresh() {
    load().catch((error) => console.error("admissions: refresh failed", error));
  }

  onMessage("admission", (message) => {
    const data = message.admission;
    if (!data || (examId && String(data.examId) !== String(examId))) return;
    if (data.status !== "pending") {
      drop(data.id, decidedText(data));
    } else if (!cards.has(data.id)) {
      refresh(); // the list has the photo URL minted for this viewer; the broadcast does not
    } else {
      add(data);
    }
  });
  // Every (re)opened socket starts with a catch-up: requests made meanwhile were not heard.
  onMessage("catch-up", refresh);
  setInterval(() => {
    for (const card of cards.values()) card.waiting.textContent = waitingFor(card.data.requestedAt);
  }, TICK_MS);
  refresh();
  return { refresh };
}
