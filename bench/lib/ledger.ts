/**
 * The independent ledger of a distributed benchmark: each process's own list
 * of the fires it ran (`job-<i>@<instant>`), checked against every
 * `(job, second)` in `[from, to]`.
 */
export function checkLedger(lists: ReadonlyArray<readonly string[]>, jobs: number, from: number, to: number) {
  const counts = new Map<string, number>();
  for (const list of lists) for (const f of list) counts.set(f, (counts.get(f) ?? 0) + 1);
  let duplicates = 0;
  for (const n of counts.values()) if (n > 1) duplicates += n - 1;
  let misses = 0;
  let expected = 0;
  for (let t = from; t <= to; t += 1000) {
    for (let i = 0; i < jobs; i++) {
      expected += 1;
      if (!counts.has(`job-${i}@${t}`)) misses += 1;
    }
  }
  return { counts, duplicates, misses, expected };
}
