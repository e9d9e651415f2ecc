/** Exit codes of `sched` (README): */
export const ExitCode = {
  ok: 0,
  /** Bad input, or the command's own failure (a job that failed, a config refused). */
  failed: 1,
  /** Redis could not be reached. */
  unreachable: 2,
} as const;

/** A failure the CLI reports in one line (no stack) with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
