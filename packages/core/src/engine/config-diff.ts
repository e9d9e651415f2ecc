import type { ConfigDocument } from '../config/schema.js';

/** One difference between two versions of the configuration document. */
export interface ConfigChange {
  /** `timezone`, `jobs.<name>` (a job added or removed) or `jobs.<name>.<field>`. */
  path: string;
  /** `undefined`: absent before. */
  from: unknown;
  /** `undefined`: absent after. */
  to: unknown;
}

/** What changed from `before` (none: an empty document) to `after`, in a stable order. */
export function diffDocuments(before: ConfigDocument | undefined, after: ConfigDocument): ConfigChange[] {
  const out: ConfigChange[] = [];
  if (before?.timezone !== after.timezone) out.push({ path: 'timezone', from: before?.timezone, to: after.timezone });
  const a = before?.jobs ?? {};
  const b = after.jobs;
  for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[name] as Record<string, unknown> | undefined;
    const y = b[name] as Record<string, unknown> | undefined;
    if (!x || !y) {
      out.push({ path: `jobs.${name}`, from: x, to: y });
      continue;
    }
    for (const field of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      if (JSON.stringify(x[field]) !== JSON.stringify(y[field]))
        out.push({ path: `jobs.${name}.${field}`, from: x[field], to: y[field] });
    }
  }
  return out;
}
