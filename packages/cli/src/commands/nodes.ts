import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { ms, table, type Io } from '../format.js';

export function nodesCommand(program: Command, ctx: () => CliContext, io: Io): void {
  program
    .command('nodes')
    .description('the live nodes: id, host, status, jobs served, last heartbeat, clock offset')
    .action(async () => {
      const c = ctx();
      const nodes = await (await c.registry()).getAllNodes();
      if (c.options.json) return io.out(JSON.stringify(nodes, null, 2));
      const now = Date.now();
      io.out(
        table(
          ['node', 'host', 'pid', 'status', 'version', 'jobs', 'heartbeat', 'clock offset', 'up since'],
          nodes.map((n) => [
            n.nodeId,
            n.host,
            n.pid,
            n.status,
            n.version,
            n.jobs.length,
            `${ms(now - n.lastHeartbeat)} ago`,
            `${n.clockOffsetMs} ms`,
            new Date(n.startedAt),
          ]),
        ),
      );
      io.out(`${nodes.length} live node${nodes.length === 1 ? '' : 's'}`);
    });
}
