/** Output of a command: a table for people, the same rows as JSON for scripts. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export type Cell = string | number | boolean | Date | undefined | null;

function show(value: Cell): string {
  if (value === undefined || value === null || value === '') return '-';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** Left-aligned columns separated by two spaces, a header row and a rule. */
export function table(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = rows.map((r) => r.map(show));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  if (value < 1_000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1_000).toFixed(1)} s`;
  return `${(value / 60_000).toFixed(1)} min`;
}

/** `2h`, `30m`, `15s`, `7d`, or an ISO date / epoch ms: the instant it names (relative ones before `now`). */
export function parseSince(text: string, now = Date.now()): number {
  const rel = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (rel) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(rel[1]) * unit;
  }
  const at = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(at)) throw new Error(`"${text}" is neither a duration (30s, 15m, 2h, 7d) nor a date`);
  return at;
}

/** A positive integer option, or a clear error naming it. */
export function positiveInt(name: string, text: string, max = 1_000_000, min = 1): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}
