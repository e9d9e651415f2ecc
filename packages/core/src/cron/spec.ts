import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { InvalidCronError } from '../errors.js';
import { isValidTimezone } from '../config/schema.js';
import { CalendarMatcher } from './calendar.js';
import { Zone } from './zone.js';

/**
 * A parsed cron spec in one timezone. Pure: no timers, no clock.
 *
 * Parsing and validation are cron-parser's (6 fields with seconds first, 5
 * fields, `@hourly` and friends). Next and previous instants come from our
 * table-driven calendar search (calendar.ts) whenever the zone's offset does
 * not change in the searched window, which is nearly always; across a DST
 * transition, and for specs with `L` or `#`, cron-parser computes them. Each
 * spec also remembers its last interval: every `after` in `[lastAfter,
 * lastNext)` has the same next instant, so the jobs sharing a spec and firing
 * together cost one computation per instant.
 *
 * DST rule (named timezones), pinned by tests:
 * - spring forward: a wall time that does not exist that day fires once, shifted
 *   forward by the gap (02:30 → 03:30 in New York); if the shifted time is also
 *   named by the spec, that instant fires once;
 * - fall back: a spec that allows every hour (`*` in the hour field) fires at
 *   each real instant, both 01:00 EDT and 01:00 EST; any other spec fires only
 *   at the first occurrence of a repeated wall time (01:30 EDT, never 01:30 EST),
 *   even when asked from inside the repeated hour (after a restart there).
 * No instant is ever dropped or doubled. `describeInstant` shows where a fire
 * lands relative to a transition.
 */
export class CronSpec {
  readonly source: string;
  readonly timezone: string;
  /** cron-parser's expression: dropped once the calendar serves the spec, parsed again on the rare fallback. */
  private parsed: CronExpression | undefined;
  private readonly calendar: CalendarMatcher | undefined;
  private readonly zone: Zone;
  private memoAfter = Number.NaN;
  private memoNext = Number.NaN;
  private memoBefore = Number.NaN;
  private memoPrev = Number.NaN;

  constructor(source: string, timezone: string, expr: CronExpression) {
    this.source = source;
    this.timezone = timezone;
    this.calendar = CalendarMatcher.fromFields(expr.fields);
    this.parsed = this.calendar ? undefined : expr;
    this.zone = Zone.get(timezone);
  }

  /** cron-parser's expression for this spec (DST windows, `L` and `#`, previews). */
  private get expr(): CronExpression {
    this.parsed ??= CronExpressionParser.parse(this.source, { tz: this.timezone, strict: false });
    return this.parsed;
  }

  /** The first instant strictly after `after` (epoch ms), or `undefined` when there is none. */
  next(after: number): number | undefined {
    if (after >= this.memoAfter && after < this.memoNext) return this.memoNext;
    let next = this.nextRaw(after);
    // Fall back: only every-hour specs fire again in a repeated wall hour.
    for (let i = 0; i < 1_000 && next !== undefined && !this.allHours() && this.zone.isRepeatedWallTime(next); i++) {
      next = this.nextRaw(next);
    }
    if (next === undefined) return undefined;
    this.memoAfter = after;
    this.memoNext = next;
    return next;
  }

  /** The last instant strictly before `before`, or `undefined` when there is none. */
  prev(before: number): number | undefined {
    if (before <= this.memoBefore && before > this.memoPrev) return this.memoPrev;
    let prev = this.prevRaw(before);
    for (let i = 0; i < 1_000 && prev !== undefined && !this.allHours() && this.zone.isRepeatedWallTime(prev); i++) {
      prev = this.prevRaw(prev);
    }
    if (prev === undefined) return undefined;
    this.memoBefore = before;
    this.memoPrev = prev;
    return prev;
  }

  private allHours(): boolean {
    return this.calendar ? this.calendar.allHours : this.expr.fields.hour.values.length === 24;
  }

  private nextRaw(after: number): number | undefined {
    if (this.calendar) {
      const offset = this.zone.offsetAt(after);
      const wall = this.calendar.next(after + offset);
      if (wall !== undefined) {
        const t = wall - offset;
        if (!this.zone.changesBetween(after, t)) return t;
      }
    }
    try {
      this.expr.reset(new Date(after));
      return this.expr.next().getTime();
    } catch {
      return undefined;
    }
  }

  private prevRaw(before: number): number | undefined {
    if (this.calendar) {
      const offset = this.zone.offsetAt(before);
      const wall = this.calendar.prev(before + offset);
      if (wall !== undefined) {
        const t = wall - offset;
        if (!this.zone.changesBetween(t, before)) return t;
      }
    }
    try {
      this.expr.reset(new Date(before));
      return this.expr.prev().getTime();
    } catch {
      return undefined;
    }
  }

  /** Up to `n` instants strictly after `after`. */
  take(after: number, n: number): number[] {
    const out: number[] = [];
    let t = after;
    for (let i = 0; i < n; i++) {
      const next = this.next(t);
      if (next === undefined) break;
      out.push(next);
      t = next;
    }
    return out;
  }

  /** True when the wall time of `instant` in this zone is one the spec names (false for a DST-shifted fire). */
  matchesWallTime(instant: number): boolean {
    try {
      return this.expr.includesDate(new Date(instant));
    } catch {
      return false;
    }
  }
}

const cache = new Map<string, CronSpec>();
/** Distinct (spec, timezone) pairs kept; beyond it the oldest are dropped (jobs keep their own reference). */
const CACHE_LIMIT = 50_000;

/** Collapses whitespace so `"0  0 * * * *"` and `"0 0 * * * *"` share one cache entry. */
export function normalizeCronSpec(spec: string): string {
  return spec.trim().replace(/\s+/g, ' ');
}

/**
 * Parses `spec` in `timezone`, cached per `(spec, timezone)`. Throws
 * `InvalidCronError` naming the spec (cron-parser's message as `cause`) for a
 * bad spec, an unknown zone, or a spec that never fires.
 */
export function compileCron(spec: string, timezone = 'UTC', api = 'parseCron'): CronSpec {
  if (typeof spec !== 'string') throw new InvalidCronError(api, String(spec), 'a cron spec is a string');
  const source = normalizeCronSpec(spec);
  const key = `${timezone}\u0000${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (source === '') throw new InvalidCronError(api, spec, 'the spec is empty');
  if (!isValidTimezone(timezone)) throw new InvalidCronError(api, spec, `unknown timezone "${timezone}"`);
  const fields = source.startsWith('@') ? 1 : source.split(' ').length;
  if (fields !== 1 && fields !== 5 && fields !== 6) {
    throw new InvalidCronError(api, spec, `expected 5 or 6 fields (seconds first), got ${fields}`);
  }
  let expr: CronExpression;
  try {
    expr = CronExpressionParser.parse(source, { tz: timezone, strict: false });
  } catch (cause) {
    throw new InvalidCronError(api, spec, (cause as Error).message, { cause });
  }
  const compiled = new CronSpec(source, timezone, expr);
  // A spec that parses but never fires (e.g. `0 0 0 31 4 *`) is an error too.
  if (compiled.next(Date.UTC(2000, 0, 1)) === undefined) {
    throw new InvalidCronError(api, spec, 'the spec names no instant that exists');
  }
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, compiled);
  return compiled;
}

/** Number of cached compiled specs (for tests and benchmarks). */
export function cronCacheSize(): number {
  return cache.size;
}

/** Empties the compiled-spec cache (benchmarks measure cold parses with it). */
export function clearCronCache(): void {
  cache.clear();
}
