import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IndexedHeap } from './heap.js';

interface Item {
  key: number;
  heapIndex: number;
}

describe('IndexedHeap', () => {
  it('pops in key order through pushes, updates and removals (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('push' as const), key: fc.integer() }),
            fc.record({ op: fc.constantFrom('update' as const, 'remove' as const), key: fc.integer(), pick: fc.nat() }),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const heap = new IndexedHeap<Item>((a, b) => a.key < b.key);
          const live: Item[] = [];
          for (const o of ops) {
            if (o.op === 'push') {
              const item = { key: o.key, heapIndex: -1 };
              heap.push(item);
              live.push(item);
            } else if (live.length > 0) {
              const item = live[o.pick % live.length] as Item;
              if (o.op === 'update') {
                item.key = o.key;
                heap.update(item);
              } else {
                expect(heap.remove(item)).toBe(true);
                expect(heap.remove(item)).toBe(false);
                live.splice(live.indexOf(item), 1);
              }
            }
          }
          const out: number[] = [];
          for (let i = heap.pop(); i !== undefined; i = heap.pop()) out.push(i.key);
          expect(out).toEqual(live.map((i) => i.key).sort((a, b) => a - b));
        },
      ),
      { numRuns: 200 },
    );
  });
});
