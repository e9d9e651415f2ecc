/**
 * UTC offsets of an IANA zone and its transitions, from Intl (no timezone
 * library). Transitions are found once per zone and year, by probing the
 * offset at every midnight and bisecting each change to the minute, then
 * cached: offset lookups are a binary search.
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export interface Transition {
  /** The first instant with the new offset. */
  at: number;
  before: number;
  after: number;
}

interface YearOffsets {
  /** Offset at the year's first instant, ms. */
  start: number;
  transitions: Transition[];
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset (local − UTC) of `timezone` at `instant`, in ms, straight from Intl. */
export function probeOffset(timezone: string, instant: number): number {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' });
    formatters.set(timezone, f);
  }
  const name = f.formatToParts(instant).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})(?::(\d{2}))?/.exec(name);
  if (!m) return 0;
  const sign = m[1] === '-' ? -1 : 1;
  return sign * ((Number(m[2]) * 60 + Number(m[3])) * MINUTE_MS + Number(m[4] ?? 0) * 1000);
}

export class Zone {
  private static readonly zones = new Map<string, Zone>();
  private readonly years = new Map<number, YearOffsets>();
  /** Set for zones known never to change offset (UTC, Etc/…). */
  private readonly fixed: number | undefined;

  private constructor(readonly name: string) {
    this.fixed =
      name === 'UTC' || name === 'Etc/UTC' || name === 'GMT' || /^Etc\/GMT[+-]?\d*$/.test(name)
        ? probeOffset(name, 0)
        : undefined;
  }

  static get(timezone: string): Zone {
    let z = Zone.zones.get(timezone);
    if (!z) {
      z = new Zone(timezone);
      Zone.zones.set(timezone, z);
    }
    return z;
  }

  offsetAt(instant: number): number {
    if (this.fixed !== undefined) return this.fixed;
    const y = this.year(new Date(instant).getUTCFullYear());
    let offset = y.start;
    for (const t of y.transitions) {
      if (t.at > instant) break;
      offset = t.after;
    }
    return offset;
  }

  /** True when the offset changes at some instant in `(from, to]`. */
  changesBetween(from: number, to: number): boolean {
    if (this.fixed !== undefined) return false;
    const y0 = new Date(from).getUTCFullYear();
    const y1 = new Date(to).getUTCFullYear();
    if (y1 - y0 > 10) return true;
    for (let y = y0; y <= y1; y++) {
      for (const t of this.year(y).transitions) if (t.at > from && t.at <= to) return true;
    }
    return false;
  }

  /**
   * When clocks went back, the wall times of the hour before the change occur
   * again right after it: true for an instant in that second occurrence.
   */
  isRepeatedWallTime(instant: number): boolean {
    if (this.fixed !== undefined) return false;
    const y = new Date(instant).getUTCFullYear();
    for (const year of [y - 1, y]) {
      for (const t of this.year(year).transitions) {
        const back = t.before - t.after;
        if (back > 0 && instant >= t.at && instant < t.at + back) return true;
      }
    }
    return false;
  }

  private year(y: number): YearOffsets {
    let cached = this.years.get(y);
    if (cached) return cached;
    const from = Date.UTC(y, 0, 1);
    const to = Date.UTC(y + 1, 0, 1);
    const start = probeOffset(this.name, from);
    const transitions: Transition[] = [];
    let prevAt = from;
    let prevOffset = start;
    for (let t = from + DAY_MS; t <= to; t += DAY_MS) {
      const offset = probeOffset(this.name, t);
      if (offset !== prevOffset) {
        // Bisect (prevAt, t] to the minute: the first instant with the new offset.
        let lo = prevAt;
        let hi = t;
        while (hi - lo > MINUTE_MS) {
          const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
          if (probeOffset(this.name, mid) === prevOffset) lo = mid;
          else hi = mid;
        }
        if (hi < to) transitions.push({ at: hi, before: prevOffset, after: offset });
        prevOffset = offset;
      }
      prevAt = t;
    }
    cached = { start, transitions };
    this.years.set(y, cached);
    return cached;
  }
}
