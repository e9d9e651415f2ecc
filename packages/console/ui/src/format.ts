export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (Math.abs(value) < 1_000) return `${Math.round(value)} ms`;
  if (Math.abs(value) < 60_000) return `${(value / 1_000).toFixed(1)} s`;
  if (Math.abs(value) < 3_600_000) return `${(value / 60_000).toFixed(1)} min`;
  return `${(value / 3_600_000).toFixed(1)} h`;
}

export function time(epochMs: number | string | null | undefined): string {
  if (epochMs === null || epochMs === undefined) return '—';
  const d = new Date(epochMs);
  return Number.isNaN(d.getTime())
    ? '—'
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

export function percent(rate: number | undefined): string {
  return rate === undefined ? '—' : `${(rate * 100).toFixed(1)} %`;
}

export function json(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}
