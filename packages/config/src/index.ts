/**
 * @sched/config — the cluster's shared configuration (SPEC.md §4): the
 * versioned configuration document on Redis, changed by compare-and-set,
 * kept with its history and announced to every node in version order.
 */
export { RedisConfigStore } from './redis-config-store.js';
export type { RedisConfigStoreOptions } from './redis-config-store.js';
export { loadConfigFile, readConfigFile } from './config-file.js';
export type { ConfigFileHandle, ConfigTarget, LoadConfigFileOptions } from './config-file.js';
export { editSharedConfig, checkConfigDocument } from './edit-shared-config.js';
export type { EditSharedConfigOptions } from './edit-shared-config.js';
