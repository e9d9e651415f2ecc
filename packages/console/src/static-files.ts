import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from './http.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Where Vite put the web UI: `dist/ui` beside the built module, or (running from source) the package's `dist/ui`. */
export function defaultUiDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, 'ui'), join(here, '..', 'dist', 'ui')].find((d) => existsSync(join(d, 'index.html')));
}

/**
 * Serves the built UI: files under `root` (never outside it), `index.html`
 * for anything else (the page routes by its hash). Hashed assets are cached
 * for a year, the page itself never.
 */
export async function serveStatic(root: string | undefined, path: string, res: ServerResponse, head: boolean): Promise<void> {
  if (root === undefined) {
    const text = 'The console UI is not built (pnpm --filter @sched/console build). The API under api/ works.';
    res.writeHead(503, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
    res.end(head ? undefined : text);
    return;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = ''; // malformed percent-encoding: the page itself
  }
  const rel = normalize(decoded).replace(/^([/\\])+/, '');
  let file = join(root, rel);
  if (!file.startsWith(root + sep) || rel === '' || !existsSync(file) || extname(file) === '') file = join(root, 'index.html');
  const body = await readFile(file);
  const asset = file.includes(`${sep}assets${sep}`);
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': asset ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  res.end(head ? undefined : body);
}
