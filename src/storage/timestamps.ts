/**
 * Timestamps and page cursors that come from clients: parsed and range-checked here, then
 * handed to SQL in one canonical form, so a hostile value is refused before a cast could fail
 * in the database (a 500) or be read in the session's time zone.
 */

const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (year: number, month: number) => (month === 2 && isLeap(year) ? 29 : DAYS[month - 1]!);

/**
 * An RFC 3339 date-time (also with a space for the `T`, or PostgreSQL's `+HH[:MM[:SS]]`
 * offsets) as `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, microseconds kept (as PostgreSQL stores
 * them); undefined when it is not one, or falls outside the years 0001–9999.
 */
export function canonicalTimestamp(text: string): string | undefined {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) return undefined;
  const n = (group: number) => Number(m[group] ?? 0);
  const [year, month, day, hour, minute, second] = [n(1), n(2), n(3), n(4), n(5), n(6)];
  const [offH, offM, offS] = [n(9), n(10), n(11)];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  // second 60: a leap second, which PostgreSQL (and Date) carry into the next minute
  if (hour > 23 || minute > 59 || second > 60 || offH > 23 || offM > 59 || offS > 59) return undefined;
  const sign = m[8] === '-' ? -1 : 1;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC: it reads years 0–99 as 1900–1999
  d.setUTCHours(hour, minute, second - sign * (offH * 3600 + offM * 60 + offS), 0);
  const utcYear = d.getUTCFullYear();
  if (Number.isNaN(utcYear) || utcYear < 1 || utcYear > 9999) return undefined;
  const micros = ((m[7] ?? '') + '000000').slice(0, 6);
  return `${d.toISOString().slice(0, 19)}.${micros}Z`;
}

/**
 * SQL for a row's cursor position, in the canonical form above whatever the session's
 * DateStyle and TimeZone (a JavaScript Date would round the microseconds away and skip rows).
 */
export const cursorTimestampSql = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The opaque `next_cursor` of a keyset page: its last row's timestamp and id. */
export function encodeCursor(timestamp: string, id: string): string {
  return Buffer.from(`${timestamp}|${id}`).toString('base64url');
}

/** A cursor made by encodeCursor (or by earlier versions, which kept PostgreSQL's text form of the timestamp); undefined when it is not one. */
export function decodeCursor(cursor: string): { timestamp: string; id: string } | undefined {
  if (cursor.length > 256 || !/^[A-Za-z0-9_-]+={0,2}$/.test(cursor)) return undefined;
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (parts.length !== 2) return undefined;
  const timestamp = canonicalTimestamp(parts[0]!);
  if (!timestamp || !UUID_RE.test(parts[1]!)) return undefined;
  return { timestamp, id: parts[1]!.toLowerCase() };
}
