import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, isSchedError } from '@sched/core';

/** An API failure with its HTTP status and a code scripts can branch on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A request as Express and Fastify hand it over too (a parsed body, the mount point). */
export type ConsoleRequest = IncomingMessage & { body?: unknown; originalUrl?: string };

const MAX_BODY_BYTES = 64 * 1024;

/** The JSON body of a POST (or what a framework already parsed), as an object. */
export async function readJsonBody(req: ConsoleRequest): Promise<Record<string, unknown>> {
  let value: unknown = req.body;
  if (value === undefined || typeof value === 'string' || Buffer.isBuffer(value)) {
    const text = value === undefined ? await readText(req) : String(value);
    if (text.trim() === '') return {};
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `the body must be application/json, got ${type || 'no content-type'}`);
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, 'BAD_JSON', `the body is not JSON: ${(error as Error).message}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'BAD_BODY', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) return; // the rest is read and dropped, so the answer reaches the client
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        reject(new HttpError(413, 'BODY_TOO_LARGE', `the body is larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Headers every answer carries: no sniffing, no framing, no referrer, and no caching of API data. */
export const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** An error as the API answers it: `{ error: { code, message } }` with a status that fits. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (isSchedError(error)) {
    const status =
      {
        [ErrorCode.InvalidArgument]: 400,
        [ErrorCode.InvalidConfig]: 400,
        [ErrorCode.InvalidCron]: 400,
        [ErrorCode.DependencyGraph]: 400,
        [ErrorCode.UnknownJob]: 404,
        [ErrorCode.ConfigConflict]: 409,
        [ErrorCode.RouteFailed]: 409,
        [ErrorCode.InvalidState]: 409,
        [ErrorCode.MissingPackage]: 501,
        [ErrorCode.StoreUnavailable]: 503,
        [ErrorCode.ExecuteTimeout]: 504,
      }[error.code as string] ?? 500;
    return new HttpError(status, error.code, error.message.replace(/^sched: /, ''));
  }
  return new HttpError(500, 'INTERNAL', 'internal error (see the server log)');
}
