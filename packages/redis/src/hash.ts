/** Core's FNV-1a, so buckets and rendezvous ranking hash alike on every node. */
export { fnv1a } from '@sched/core';
