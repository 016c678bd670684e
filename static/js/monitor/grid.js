// The grid of student cards. Each card keeps what it last showed, and a render writes to the DOM
// only what differs: with 300 students, a message about one of them touches one card.

import { CONNECTION_LABELS, formatTimeLeft, severityLabel, severityRank } from "./format.js";

const SORTS = {
  // Review priority: riskiest first, then the most high/critical alerts waiting, then by name.
  priority: (a, b) =>
    b.riskScore - a.riskScore || (b.urgent || 0) - (a.urgent || 0) || a.name.localeCompare(b.name),
  name: (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  "time-left": (a, b) => a.deadline - b.deadline || a.name.localeCompare(b.name),
};

function fieldsOf(root) {
  const fields = {};
  for (const el of root.querySelectorAll("[data-field]")) fields[el.dataset.field] = el;
  return fields;
}

export function createGrid({ gridEl, templateEl, emptyEl, filteredEl, store, stats }) {
  const cards = new Map(); // session id -> { root, fields, shown: {...} }
  let sortBy = "priority";
  let minSeverity = "";

  // Cards the server rendered are adopted as they are; new students get a clone of the template.
  for (const root of gridEl.querySelectorAll(".session-card[data-session-id]")) {
    cards.set(root.dataset.sessionId, { root, fields: fieldsOf(root), shown: {} });
  }

  function cardFor(id) {
    let card = cards.get(id);
    if (!card) {
      const root = templateEl.content.firstElementChild.cloneNode(true);
      root.dataset.sessionId = id;
      card = { root, fields: fieldsOf(root), shown: {} };
      cards.set(id, card);
      gridEl.append(root);
    }
    return card;
  }

  function set(card, key, value, write) {
    if (card.shown[key] === value) return false;
    card.shown[key] = value;
    write(value);
    return true;
  }

  function renderTimely(card, session, now) {
    const { fields, root } = card;
    const connection = store.connectionOf(session, now);
    set(card, "connection", connection, (value) => {
      root.dataset.connection = value;
      fields.connection.textContent = CONNECTION_LABELS[value] || value;
      fields.connection.title =
        value === "unmonitored"
          ? gettext("The camera and microphone stopped: this student is not being monitored.")
          : value === "stale"
            ? gettext("No new picture for a while.")
            : "";
    });
    const left = store.secondsLeft(session, now);
    set(card, "timeLeft", formatTimeLeft(left), (text) => {
      fields["time-left"].textContent = text;
    });
    set(card, "urgency", left <= 0 ? "over" : left <= 300 ? "low" : "", (value) => {
      fields["time-left"].dataset.urgency = value;
    });
  }

  /** Bring one card up to date with its session; returns nothing, counts in stats. */
  function renderCard(id, now) {
    const session = store.sessions.get(id);
    if (!session) return;
    const card = cardFor(id);
    const { fields, root } = card;
    const { alerts, urgent, topSeverity } = store.summary(session);
    session.urgent = urgent;
    session.topSeverity = topSeverity;
    set(card, "name", session.name, (name) => {
      fields.name.textContent = name;
      fields.thumbnail.alt = interpolate(gettext("Webcam of %s"), [name]);
    });
    set(card, "url", session.detailUrl, (url) => {
      fields.name.href = url;
      fields.open.href = url;
    });
    set(card, "exam", session.examTitle, (title) => {
      fields.exam.textContent = title;
    });
    const risk = Math.round(session.riskScore);
    set(card, "risk", risk, (value) => {
      fields.risk.textContent = String(value);
      fields["risk-meter"].value = value;
      root.dataset.risk = value >= 60 ? "high" : value >= 30 ? "medium" : "low";
    });
    set(card, "flagged", session.flagged, (flagged) => {
      root.dataset.flagged = String(flagged);
      fields.flagged.hidden = !flagged;
    });
    set(card, "faces", session.faceCount, (count) => {
      fields.faces.hidden = count === null || count === undefined;
      fields.faces.textContent = interpolate(ngettext("%s face", "%s faces", count ?? 0), [count ?? 0]);
      fields.faces.dataset.count = String(count ?? "");
    });
    set(card, "slowed", session.slowedMs, (ms) => {
      fields.slowed.hidden = !ms;
      fields.slowed.textContent = ms
        ? interpolate(gettext("Slowed · a picture every %s s"), [Math.round(ms / 1000)])
        : "";
    });
    set(card, "proctored", session.proctored, (proctored) => {
      fields["thumbnail-empty"].textContent = proctored ? gettext("No picture yet") : gettext("No camera for this exam");
    });
    set(card, "thumbnail", session.thumbnailUrl, (url) => {
      if (url) {
        fields.thumbnail.src = url;
        fields.thumbnail.hidden = false;
        fields["thumbnail-empty"].hidden = true;
      } else {
        fields.thumbnail.hidden = true;
        fields["thumbnail-empty"].hidden = false;
      }
    });
    const badgeKey = alerts.map((a) => `${a.type}:${a.severity}:${a.count}`).join(",");
    set(card, "badges", badgeKey, () => {
      fields.badges.replaceChildren(
        ...alerts.map((alert) => {
          const li = document.createElement("li");
          li.className = "badge";
          li.dataset.severity = alert.severity;
          li.dataset.type = alert.type;
          li.title = interpolate(
            ngettext("%(count)s open %(severity)s alert", "%(count)s open %(severity)s alerts", alert.count),
            { count: alert.count, severity: severityLabel(alert.severity) },
            true,
          );
          li.textContent = alert.label;
          if (alert.count > 1) {
            const count = document.createElement("b");
            count.textContent = ` ×${alert.count}`;
            li.append(count);
          }
          return li;
        }),
      );
    });
    renderTimely(card, session, now);
    stats.cardUpdates += 1;
  }

  function removeCard(id) {
    const card = cards.get(id);
    if (!card) return;
    card.root.remove();
    cards.delete(id);
  }

  function visible(session) {
    return !minSeverity || (session.topSeverity ?? -1) >= severityRank(minSeverity);
  }

  /** Put the cards in sort order, moving only those out of place; apply the severity filter. */
  function reorder() {
    const ordered = [...store.sessions.values()].sort(SORTS[sortBy] || SORTS.priority);
    let cursor = gridEl.querySelector(".session-card");
    let shown = 0;
    for (const session of ordered) {
      const card = cards.get(session.id);
      if (!card) continue;
      const show = visible(session);
      if (card.root.hidden === show) card.root.hidden = !show;
      shown += show ? 1 : 0;
      if (card.root === cursor) {
        cursor = cursor.nextElementSibling;
      } else {
        gridEl.insertBefore(card.root, cursor);
      }
    }
    emptyEl.hidden = store.sessions.size > 0;
    filteredEl.hidden = store.sessions.size === 0 || shown > 0;
  }

  return {
    renderCard,
    removeCard,
    reorder,
    /** The once-a-second pass: countdowns and live/stale/offline age without any message. */
    tick(now) {
      for (const [id, card] of cards) {
        const session = store.sessions.get(id);
        if (session) renderTimely(card, session, now);
      }
    },
    setSort(value) {
      sortBy = SORTS[value] ? value : "priority";
    },
    setMinSeverity(value) {
      minSeverity = value || "";
    },
    cardElement(id) {
      return cards.get(id)?.root || null;
    },
    adoptedIds() {
      return [...cards.keys()];
    },
  };
}
