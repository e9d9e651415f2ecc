/**
 * @sched/console — the web console and HTTP admin API of a sched cluster:
 * `createConsoleHandler({ scheduler | redis, basePath, authToken })`, a
 * `(req, res, next?)` handler for node:http, Express or Fastify.
 */
export { createConsoleHandler } from './handler.js';
export type { ConsoleHandler, ConsoleHandlerOptions } from './handler.js';
export type { AuthenticateHook, ConsoleUser } from './auth.js';
export type { NodeView, JobView } from './views.js';
export type { TriggerResult } from './source.js';
export { routes as consoleRoutes } from './api.js';
