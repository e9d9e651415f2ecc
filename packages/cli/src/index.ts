/**
 * @sched/cli — the `sched` command. `runCli(argv, { io, env })` runs it
 * in-process (what the `sched` bin does) and resolves with its exit code.
 */
export { runCli } from './program.js';
export type { RunOptions } from './program.js';
export type { Io } from './format.js';
export { CliError, ExitCode } from './errors.js';
