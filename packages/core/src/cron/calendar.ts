/**
 * Next and previous matching wall times of parsed cron fields, by table
 * lookups on calendar fields: no Date objects per step, no timezone library.
 * Times here are "wall milliseconds": a local wall clock read as if it were
 * UTC. The zone layer (zone.ts) maps instants to wall times and back.
 *
 * Semantics follow cron-parser's (which parses the specs): 6 fields, seconds
 * first; when both day-of-month and day-of-week are restricted, a day matches
 * if either does. Specs using `L` or `#` are not served here (`fromFields`
 * returns undefined) and stay on cron-parser.
 */

/** The part of cron-parser's field collection this module reads. */
export interface ParsedFields {
  second: ParsedField;
  minute: ParsedField;
  hour: ParsedField;
  dayOfMonth: ParsedField;
  month: ParsedField;
  dayOfWeek: ParsedField & { nthDay?: number };
}

interface ParsedField {
  readonly values: readonly (number | string)[];
  readonly isWildcard: boolean;
  readonly hasLastChar: boolean;
}

const DAY_MS = 86_400_000;
/** A search that finds nothing within this many days gives up (the caller falls back). */
const MAX_SEARCH_DAYS = 366 * 5;
/** Reused for calendar fields (single-threaded, never held across calls). */
const scratch = new Date(0);

// One packed table per matcher (100k distinct specs must stay small):
// next/prev lookups for seconds, minutes and hours, and allowed flags for
// months, days of month and days of week, each at a fixed offset.
const NEXT_SEC = 0; // 61 entries: smallest allowed second >= i, or -1
const PREV_SEC = 61; // 60: largest allowed second <= i, or -1
const NEXT_MIN = 121; // 61
const PREV_MIN = 182; // 60
const NEXT_HOUR = 242; // 25
const PREV_HOUR = 267; // 24
const MONTHS = 291; // 13 (1..12)
const DOMS = 304; // 32 (1..31)
const DOWS = 336; // 7 (0..6, Sunday 0)
const TABLE_SIZE = 343;

/** Fills next/prev lookups for values in [0, size); true when every value is allowed. */
function fill(table: Int8Array, values: readonly number[], size: number, nextAt: number, prevAt: number): boolean {
  const allowed = new Uint8Array(size);
  for (const v of values) if (v >= 0 && v < size) allowed[v] = 1;
  table[nextAt + size] = -1;
  for (let i = size - 1; i >= 0; i--) table[nextAt + i] = allowed[i] ? i : (table[nextAt + i + 1] as number);
  let last = -1;
  for (let i = 0; i < size; i++) {
    if (allowed[i]) last = i;
    table[prevAt + i] = last;
  }
  return allowed.every((a) => a === 1);
}

function flags(table: Int8Array, values: readonly number[], at: number, size: number): void {
  for (const v of values) if (v >= 0 && v < size) table[at + v] = 1;
}

export class CalendarMatcher {
  private readonly t = new Int8Array(TABLE_SIZE);
  private readonly domRestricted: boolean;
  private readonly dowRestricted: boolean;
  /** True when every hour of the day is allowed (decides the fall-back rule). */
  readonly allHours: boolean;

  private constructor(f: ParsedFields) {
    const nums = (field: ParsedField): number[] => field.values.filter((v): v is number => typeof v === 'number');
    const t = this.t;
    fill(t, nums(f.second), 60, NEXT_SEC, PREV_SEC);
    fill(t, nums(f.minute), 60, NEXT_MIN, PREV_MIN);
    this.allHours = fill(t, nums(f.hour), 24, NEXT_HOUR, PREV_HOUR);
    flags(t, nums(f.month), MONTHS, 13);
    flags(t, nums(f.dayOfMonth), DOMS, 32);
    flags(
      t,
      nums(f.dayOfWeek).map((d) => (d === 7 ? 0 : d)),
      DOWS,
      7,
    );
    this.domRestricted = !f.dayOfMonth.isWildcard;
    this.dowRestricted = !f.dayOfWeek.isWildcard;
  }

  /** A matcher for these fields, or undefined when they use `L` or `#` (left to cron-parser). */
  static fromFields(fields: ParsedFields): CalendarMatcher | undefined {
    if (fields.dayOfMonth.hasLastChar || fields.dayOfWeek.hasLastChar || (fields.dayOfWeek.nthDay ?? 0) > 0) return undefined;
    for (const f of [fields.second, fields.minute, fields.hour, fields.dayOfMonth, fields.month, fields.dayOfWeek]) {
      if (f.values.some((v) => typeof v !== 'number')) return undefined;
    }
    return new CalendarMatcher(fields);
  }

  /** The first matching wall time strictly after `afterWall` (whole seconds), or undefined if none soon. */
  next(afterWall: number): number | undefined {
    const t = Math.floor(afterWall / 1000) * 1000 + 1000;
    let day = Math.floor(t / DAY_MS);
    let sec = (t - day * DAY_MS) / 1000;
    for (let i = 0; i < MAX_SEARCH_DAYS; i++) {
      const d = scratch;
      d.setTime(day * DAY_MS);
      const month = d.getUTCMonth() + 1;
      if (this.t[MONTHS + month] !== 1) {
        // Jump to the first day of the next month.
        day = Date.UTC(d.getUTCFullYear(), month, 1) / DAY_MS;
        sec = 0;
        continue;
      }
      if (this.dayMatches(d.getUTCDate(), d.getUTCDay())) {
        const found = this.timeAtOrAfter(sec);
        if (found >= 0) return day * DAY_MS + found * 1000;
      }
      day += 1;
      sec = 0;
    }
    return undefined;
  }

  /** The last matching wall time strictly before `beforeWall` (whole seconds), or undefined if none soon. */
  prev(beforeWall: number): number | undefined {
    const t = Math.ceil(beforeWall / 1000) * 1000 - 1000;
    let day = Math.floor(t / DAY_MS);
    let sec = (t - day * DAY_MS) / 1000;
    for (let i = 0; i < MAX_SEARCH_DAYS; i++) {
      const d = scratch;
      d.setTime(day * DAY_MS);
      const month = d.getUTCMonth() + 1;
      if (this.t[MONTHS + month] !== 1) {
        // Jump to the last day of the previous month.
        day = Date.UTC(d.getUTCFullYear(), month - 1, 1) / DAY_MS - 1;
        sec = 86_399;
        continue;
      }
      if (this.dayMatches(d.getUTCDate(), d.getUTCDay())) {
        const found = this.timeAtOrBefore(sec);
        if (found >= 0) return day * DAY_MS + found * 1000;
      }
      day -= 1;
      sec = 86_399;
    }
    return undefined;
  }

  private dayMatches(dom: number, dow: number): boolean {
    const domOk = this.t[DOMS + dom] === 1;
    const dowOk = this.t[DOWS + dow] === 1;
    if (this.domRestricted && this.dowRestricted) return domOk || dowOk;
    if (this.dowRestricted) return dowOk;
    return domOk;
  }

  /** The first allowed second of the day at or after `secOfDay`, or -1. */
  private timeAtOrAfter(secOfDay: number): number {
    let h = Math.floor(secOfDay / 3600);
    let m = Math.floor((secOfDay % 3600) / 60);
    let s = secOfDay % 60;
    for (;;) {
      const h2 = this.t[NEXT_HOUR + h] as number;
      if (h2 < 0) return -1;
      if (h2 !== h) {
        h = h2;
        m = 0;
        s = 0;
      }
      const m2 = this.t[NEXT_MIN + m] as number;
      if (m2 < 0) {
        if (++h > 23) return -1;
        m = 0;
        s = 0;
        continue;
      }
      if (m2 !== m) {
        m = m2;
        s = 0;
      }
      const s2 = this.t[NEXT_SEC + s] as number;
      if (s2 < 0) {
        s = 0;
        if (++m > 59) {
          m = 0;
          if (++h > 23) return -1;
        }
        continue;
      }
      return h * 3600 + m * 60 + s2;
    }
  }

  /** The last allowed second of the day at or before `secOfDay`, or -1. */
  private timeAtOrBefore(secOfDay: number): number {
    let h = Math.floor(secOfDay / 3600);
    let m = Math.floor((secOfDay % 3600) / 60);
    let s = secOfDay % 60;
    for (;;) {
      const h2 = this.t[PREV_HOUR + h] as number;
      if (h2 < 0) return -1;
      if (h2 !== h) {
        h = h2;
        m = 59;
        s = 59;
      }
      const m2 = this.t[PREV_MIN + m] as number;
      if (m2 < 0) {
        if (--h < 0) return -1;
        m = 59;
        s = 59;
        continue;
      }
      if (m2 !== m) {
        m = m2;
        s = 59;
      }
      const s2 = this.t[PREV_SEC + s] as number;
      if (s2 < 0) {
        s = 59;
        if (--m < 0) {
          m = 59;
          if (--h < 0) return -1;
        }
        continue;
      }
      return h * 3600 + m * 60 + s2;
    }
  }
}
