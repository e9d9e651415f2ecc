import { cpus, totalmem } from 'node:os';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

export function summary(values: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > max) max = v; // no spread: 200k values overflow the call stack
  return { p50: percentile(values, 0.5), p99: percentile(values, 0.99), max, n: values.length };
}

export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc');
  g();
  g();
}

export function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** Appends raw records (JSON lines) the printed figures were computed from. */
export function keepRaw(file: string, record: object): void {
  mkdirSync(resultsDir, { recursive: true });
  appendFileSync(join(resultsDir, file), `${JSON.stringify({ at: new Date().toISOString(), ...record })}\n`);
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
