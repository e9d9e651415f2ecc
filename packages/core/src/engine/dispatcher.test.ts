import { describe, expect, it } from 'vitest';
import { Dispatcher } from './dispatcher.js';

interface Task {
  heapIndex: number;
  priority: number;
  seq: number;
  id: number;
}

const task = (id: number, priority = 0): Task => ({ heapIndex: -1, priority, seq: 0, id });

describe('Dispatcher', () => {
  it('starts queued tasks in a loop when each frees its slot at once: 50,000 of them, in order, the stack flat', () => {
    const started: number[] = [];
    let slotFreeCalls = 0;
    let depth = 0;
    let deepest = 0;
    const dispatcher: Dispatcher<Task> = new Dispatcher<Task>(
      1,
      (t) => {
        depth += 1;
        deepest = Math.max(deepest, depth);
        started.push(t.id);
        // A fire that ends as it starts (its lease lost while it waited): the slot frees inside `run`.
        if (t.id > 0) dispatcher.release();
        depth -= 1;
      },
      () => (slotFreeCalls += 1),
    );
    dispatcher.submit(task(0)); // holds the only slot
    for (let i = 1; i <= 50_000; i++) dispatcher.submit(task(i, i % 3));
    expect(dispatcher.queued).toBe(50_000);
    dispatcher.release(); // task 0 ends: the queue drains, highest priority first, FIFO within one
    expect(started).toHaveLength(50_001);
    const order = started.slice(1);
    const expected = Array.from({ length: 50_000 }, (_, k) => k + 1).sort((a, b) => (b % 3) - (a % 3) || a - b);
    expect(order).toEqual(expected);
    expect(deepest).toBe(1);
    expect(dispatcher.running).toBe(0);
    expect(dispatcher.queued).toBe(0);
    // Told once for the drain (after the loop), not once a task.
    expect(slotFreeCalls).toBe(1);
  });

  it('never runs more than maxConcurrency; a slot freed later starts the next queued task', () => {
    const running = new Set<number>();
    let most = 0;
    const dispatcher = new Dispatcher<Task>(3, (t) => {
      running.add(t.id);
      most = Math.max(most, running.size);
    });
    for (let i = 0; i < 10; i++) dispatcher.submit(task(i));
    expect([...running]).toEqual([0, 1, 2]);
    expect(dispatcher.queued).toBe(7);
    running.delete(1);
    dispatcher.release();
    expect([...running]).toEqual([0, 2, 3]);
    expect(most).toBe(3);
    expect(dispatcher.freeSlots()).toBe(0);
  });
});
