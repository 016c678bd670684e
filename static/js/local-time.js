// Times as the viewer reads them, the way the server writes them (procto/local_time.py): in the
// viewer's zone from the page's bootstrap JSON (#time-zone: their profile's zone, which may not be
// this browser's), "Tue 8 Dec, 15:06 EST" for a moment and "15:06:12" for a clock in a list.
// The abbreviation comes from the server's table, since browsers name zones differently.
//
// Loaded on every page: it also tells the server this browser's own zone (a cookie), which fills
// the zone of a user who has none yet (accounts/middleware.py).

const BROWSER_ZONE_COOKIE = "browser_time_zone";

function bootstrap() {
  try {
    const data = JSON.parse(document.getElementById("time-zone")?.textContent || "null");
    if (data && typeof data.timeZone === "string") return data;
  } catch {
    // a page without the bootstrap (or a broken one) shows UTC, labelled as such
  }
  return { timeZone: "UTC", abbreviations: { 0: "UTC" } };
}

const ZONE = bootstrap();

export const timeZone = ZONE.timeZone;

// Day and month names in the page's language (<html lang>, the viewer's); English pages keep
// en-US, whose parts the server's own wording matches.
const PAGE_LANGUAGE = document.documentElement.lang || "";
const LOCALE = PAGE_LANGUAGE && !PAGE_LANGUAGE.toLowerCase().startsWith("en") ? PAGE_LANGUAGE : "en-US";

let formatter;
function parts(date) {
  formatter ||= new Intl.DateTimeFormat(LOCALE, {
    timeZone: ZONE.timeZone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: "longOffset",
  });
  return Object.fromEntries(formatter.formatToParts(date).map(({ type, value }) => [type, value]));
}

/** "GMT-05:00" → -300; "GMT" → 0. */
function offsetMinutes(name) {
  const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name || "");
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3] || 0);
  return match[1] === "-" ? -minutes : minutes;
}

function abbreviation(offsetName) {
  const offset = offsetMinutes(offsetName);
  const known = ZONE.abbreviations?.[String(offset)];
  if (known) return known;
  const sign = offset < 0 ? "-" : "+";
  const hours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const minutes = Math.abs(offset) % 60;
  return `UTC${sign}${hours}${minutes ? String(minutes).padStart(2, "0") : ""}`;
}

function toDate(moment) {
  const date = moment instanceof Date ? moment : new Date(moment);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "Tue 8 Dec, 15:06 EST" (the year after the month when it is not this year); "" if invalid. */
export function formatDateTime(moment) {
  const date = toDate(moment);
  if (!date) return "";
  const p = parts(date);
  const year = p.year === parts(new Date()).year ? "" : ` ${p.year}`;
  return `${p.weekday} ${p.day} ${p.month}${year}, ${p.hour}:${p.minute} ${abbreviation(p.timeZoneName)}`;
}

/** "15:06:12" in the viewer's zone; "" if invalid. */
export function formatClock(moment) {
  const date = toDate(moment);
  if (!date) return "";
  const p = parts(date);
  return `${p.hour}:${p.minute}:${p.second}`;
}

function rememberBrowserZone() {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!own) return;
  const cookie = `${BROWSER_ZONE_COOKIE}=${encodeURIComponent(own)}`; // "America%2FNew_York"
  if (document.cookie.split("; ").includes(cookie)) return;
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${cookie}; path=/; max-age=${365 * 24 * 3600}; SameSite=Lax${secure}`;
}

rememberBrowserZone();
