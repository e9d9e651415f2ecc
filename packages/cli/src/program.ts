import { Command, CommanderError } from 'commander';
import { CliContext, type GlobalOptions } from './context.js';
import { CliError, ExitCode } from './errors.js';
import { positiveInt, type Io } from './format.js';
import { configCommand } from './commands/config.js';
import { consoleCommand } from './commands/console.js';
import { historyCommand } from './commands/history.js';
import { jobsCommand } from './commands/jobs.js';
import { nextCommand } from './commands/next.js';
import { nodesCommand } from './commands/nodes.js';
import { statsCommand } from './commands/stats.js';
import { triggerCommand } from './commands/trigger.js';

export interface RunOptions {
  io?: Io;
  env?: Record<string, string | undefined>;
  /** Ends a long-running command (`sched console`) as Ctrl-C would. */
  signal?: AbortSignal;
}

const processIo: Io = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

/**
 * Runs `sched <argv…>` and resolves with its exit code (0 ok, 1 bad input or
 * a failed command, 2 Redis unreachable); output goes to `io`. Never throws
 * and never calls `process.exit`, so it can be tested in-process.
 */
export async function runCli(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const env = options.env ?? process.env;
  let context: CliContext | undefined;
  const program = new Command('sched')
    .description(
      'Operate a sched cluster on Redis: nodes, jobs, history, stats, trigger, shared config, cron previews, the web console.',
    )
    .option('--redis <url>', 'redis:// URL of the cluster’s Redis (default: $REDIS_URL)')
    .option('--cluster', 'the URL is a seed node of a Redis Cluster')
    .option('--prefix <keyPrefix>', 'the keyPrefix the nodes use', 'sched')
    .option('--json', 'JSON instead of tables, for scripts')
    .option(
      '--connect-timeout <ms>',
      'how long to wait for Redis, in ms',
      (t: string) => String(positiveInt('--connect-timeout', t, 600_000)),
      '3000',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError('(sched --help lists the commands)');
  const ctx = () => (context ??= new CliContext(program.opts<GlobalOptions>(), env));
  const json = () => program.opts<GlobalOptions>().json === true;
  nodesCommand(program, ctx, io);
  jobsCommand(program, ctx, io);
  historyCommand(program, ctx, io);
  statsCommand(program, ctx, io);
  triggerCommand(program, ctx, io);
  configCommand(program, ctx, io);
  nextCommand(program, json, io);
  consoleCommand(program, ctx, io, options.signal);
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; usage errors were printed by commander.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.failed;
    }
    if (error instanceof CliError) {
      io.err(`sched: ${unprefixed(error.message)}`);
      return error.exitCode;
    }
    const e = error as Error & { code?: string };
    if (e.code === 'SCHED_STORE_UNAVAILABLE') {
      io.err(`sched: Redis did not answer: ${unprefixed(e.message)}`);
      return ExitCode.unreachable;
    }
    io.err(`sched: ${unprefixed(e.message ?? String(error))}`);
    return ExitCode.failed;
  } finally {
    await context?.close();
  }
}

/** The packages' own errors already start with `sched: `; the CLI's line says it once. */
function unprefixed(message: string): string {
  return message.startsWith('sched: ') ? message.slice('sched: '.length) : message;
}
