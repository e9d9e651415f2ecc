/**
 * @sched/testkit — test tooling: throwaway servers (redis-server, a 3-master
 * Redis Cluster, PostgreSQL) on free ports, each killed by PID afterwards.
 */
export { RedisServer, startRedisCluster, hasRedisServer, canRunRedis } from './redis-server.js';
export type { RedisServerOptions, RedisClusterInfo } from './redis-server.js';
export { PostgresServer, canRunPostgres, postgresBinDir } from './postgres.js';
export { freePort, freePorts, readJsonLines, startTracked, stopProcess, waitForOutput } from './process.js';
export { canRunChromium, chromiumPath, CHROMIUM_ARGS } from './browser.js';
export {
  createSimulatedCluster,
  expectExactlyOncePerFire,
  instantsOf,
  SimulatedCluster,
  SimulatedNode,
  SimulatedNodeClock,
} from './simulated-cluster.js';
export type { ExactlyOnceReport, LedgerEntry, SimulatedClusterOptions, SimulatedJob } from './simulated-cluster.js';
