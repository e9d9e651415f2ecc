import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '@sched/core';
import type { MetricsCollector } from './collector.js';

/**
 * A `/metrics` handler for `node:http` (and Express, whose req/res are
 * node's): `GET` or `HEAD` answers the registry's exposition text; other
 * methods get 405. A registry that fails to collect answers 500 and is logged.
 *
 * ```ts
 * http.createServer((req, res) => (req.url === '/metrics' ? handler(req, res) : notFound(res)));
 * ```
 */
export function metricsHandler(
  source: MetricsCollector | Registry,
  options: { logger?: Pick<Logger, 'error'> } = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const registry = 'registry' in source ? source.registry : source;
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    try {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      options.logger?.error('metrics: the registry could not be collected', { error });
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics could not be collected\n');
    }
  };
}
