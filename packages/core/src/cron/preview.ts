import type { CronSpec } from './spec.js';

/** One upcoming fire as `nextFireTimes` shows it. */
export interface FireTime {
  /** The instant (what `ctx.scheduledAt` will be). */
  scheduledAt: Date;
  /** Wall time in the job's zone with its offset, e.g. `2025-03-09T03:30:00-04:00`. */
  local: string;
  /**
   * Set when a DST transition moved this fire: `'shifted'` when the wall time the
   * spec names did not exist (spring forward) and the fire moved past the gap;
   * `'repeated'` when the same wall time already occurred earlier that night
   * (fall back) and the spec fires at this second real instant too.
   */
  dst?: 'shifted' | 'repeated';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    formatters.set(timezone, f);
  }
  return f;
}

interface WallTime {
  wall: string;
  offset: string;
  offsetMinutes: number;
}

function wallTime(instant: number, timezone: string): WallTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timezone).formatToParts(new Date(instant))) parts[p.type] = p.value;
  const wall = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
  // longOffset is "GMT", "GMT+02:00" or "GMT-04:00".
  const raw = (parts.timeZoneName ?? 'GMT').replace('GMT', '');
  const offset = raw === '' ? '+00:00' : raw;
  const sign = offset.startsWith('-') ? -1 : 1;
  const [h, m] = offset.slice(1).split(':');
  return { wall, offset, offsetMinutes: sign * (Number(h) * 60 + Number(m ?? 0)) };
}

/** Describes where `instant` lands in the spec's zone, flagging DST shifts and repeats. */
export function describeInstant(spec: CronSpec, instant: number): FireTime {
  const here = wallTime(instant, spec.timezone);
  const fire: FireTime = { scheduledAt: new Date(instant), local: `${here.wall}${here.offset}` };
  if (!spec.matchesWallTime(instant)) {
    fire.dst = 'shifted';
    return fire;
  }
  // Clocks went back within the last 3 hours if the earlier offset was larger;
  // the same wall time then occurred `delta` earlier.
  const earlier = wallTime(instant - 3 * 3_600_000, spec.timezone);
  const delta = earlier.offsetMinutes - here.offsetMinutes;
  if (delta > 0 && wallTime(instant - delta * 60_000, spec.timezone).wall === here.wall) fire.dst = 'repeated';
  return fire;
}
