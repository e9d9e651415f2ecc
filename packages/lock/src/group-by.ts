/** Groups `items` by `keyOf`, groups in order of first appearance and items in order within each. */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/**
 * A `keyOf` for `groupBy` that builds the key only when an item differs from the
 * one before it (`same`): a batch is mostly long runs of items that share a key,
 * so most items get the previous key back instead of a new string.
 */
export function keyPerRun<T>(same: (a: T, b: T) => boolean, build: (item: T) => string): (item: T) => string {
  let last: T | undefined;
  let key = '';
  return (item) => {
    if (last === undefined || !same(last, item)) key = build(item);
    last = item;
    return key;
  };
}
