import type { z } from 'zod';
import { InvalidConfigError, type ConfigIssue } from '../errors.js';

/** Parses `value` with `schema`, or throws `InvalidConfigError` listing every issue with its path. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, api: string, pathPrefix = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidConfigError(api, zodIssues(result.error, pathPrefix), { cause: result.error });
}

export function zodIssues(error: z.ZodError, pathPrefix = ''): ConfigIssue[] {
  return error.issues.map((issue) => {
    const path = [pathPrefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys?: string[] }).keys ?? [];
      return { path, message: `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` };
    }
    return { path, message: issue.message };
  });
}
