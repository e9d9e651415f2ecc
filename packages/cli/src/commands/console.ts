import { createServer } from 'node:http';
import type { Command } from 'commander';
import { createConsoleHandler } from '@sched/console';
import type { Logger } from '@sched/core';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { positiveInt, type Io } from '../format.js';

/**
 * `sched console`: the web console and admin API as a process of its own on
 * the cluster's Redis (it is no node: it registers nothing and runs no job).
 * Serves until SIGINT/SIGTERM (or the run's abort signal, in tests).
 */
export function consoleCommand(program: Command, ctx: () => CliContext, io: Io, signal: AbortSignal | undefined): void {
  program
    .command('console')
    .description('serves the web console and HTTP admin API of the cluster (until Ctrl-C)')
    .option('--port <port>', 'port to listen on (0: any free one)', (p: string) => positiveInt('--port', p, 65_535, 0), 8080)
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--token <token>', 'the token users and scripts sign in with (better: SCHED_CONSOLE_TOKEN)')
    .option('--base-path <path>', 'serve under this path, e.g. /console', '')
    .option('--secret <secret>', "the cluster's executeSecret for triggers (or SCHED_EXECUTE_SECRET)")
    .action(async (opts: { port: number; host: string; token?: string; basePath: string; secret?: string }) => {
      const c = ctx();
      const env = c.env;
      const token = opts.token ?? env.SCHED_CONSOLE_TOKEN;
      if (!token)
        throw new CliError('the console needs a token: pass --token or set SCHED_CONSOLE_TOKEN (16 characters or more)');
      const secret = opts.secret ?? env.SCHED_EXECUTE_SECRET;
      const logger: Logger = {
        debug() {},
        info: (msg, fields) => io.err(`${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
        warn: (msg, fields) => io.err(`warn: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
        error: (msg, fields) => io.err(`error: ${msg} ${String((fields?.error as Error | undefined)?.message ?? '')}`),
      };
      let handler;
      try {
        handler = createConsoleHandler({
          redis: await c.redis(),
          authToken: token,
          basePath: opts.basePath,
          logger,
          ...(secret ? { executeSecret: secret } : {}),
        });
      } catch (error) {
        if ((error as { code?: string }).code === 'SCHED_INVALID_ARGUMENT')
          throw new CliError((error as Error).message.replace(/^sched: /, ''));
        throw error;
      }
      const server = createServer(handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) =>
          reject(new CliError(`cannot listen on ${opts.host}:${opts.port}: ${e.code ?? e.message}`)),
        );
        server.listen(opts.port, opts.host, () => resolve());
      });
      const { port } = server.address() as { port: number };
      const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      io.out(`sched console on http://${shown}:${port}${handler.basePath}/ (Redis prefix ${c.options.prefix}); Ctrl-C stops it`);
      let stop: () => void = () => undefined;
      await new Promise<void>((resolve) => {
        stop = resolve;
        if (signal?.aborted) return resolve();
        signal?.addEventListener('abort', stop, { once: true });
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await handler.close();
    });
}
