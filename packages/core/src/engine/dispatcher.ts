import { IndexedHeap, type HeapItem } from '../internal/heap.js';

/** Something the dispatcher can order: higher `priority` first, then lower `seq` (FIFO). */
export interface Dispatchable extends HeapItem {
  priority: number;
  seq: number;
}

/**
 * Runs at most `maxConcurrency` tasks at once; the rest wait in a priority
 * queue (higher priority first, FIFO within a priority). `run` starts a task
 * and must not throw; whoever runs it calls `release()` once when its slot is
 * free again (a callback, not a promise a task: a burst of thousands of fires
 * keeps nothing alive a fire for it).
 */
export class Dispatcher<T extends Dispatchable> {
  private readonly queue = new IndexedHeap<T>((a, b) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq));
  private runningCount = 0;
  private seq = 0;
  private paused = false;
  /** In `pump`'s loop: a slot freed meanwhile (a task that ended at once) is taken by the loop. */
  private pumping = false;
  private freed = false;

  constructor(
    private readonly maxConcurrency: number,
    private readonly run: (task: T) => void,
    /** Called after slots freed and queued tasks took what they could (once for a drain in one loop). */
    private readonly onSlotFree: () => void = () => {},
  ) {}

  get running(): number {
    return this.runningCount;
  }

  get queued(): number {
    return this.queue.size;
  }

  /** Free slots plus room in a queue of `maxQueued`: how many more fires this node should claim now. */
  budget(maxQueued: number): number {
    return Math.max(0, this.maxConcurrency - this.runningCount) + Math.max(0, maxQueued - this.queue.size);
  }

  /** Slots not running anything, less what is already queued for them. */
  freeSlots(): number {
    return Math.max(0, this.maxConcurrency - this.runningCount - this.queue.size);
  }

  nextSeq(): number {
    return ++this.seq;
  }

  submit(task: T): void {
    if (task.seq === 0) task.seq = this.nextSeq();
    // Nothing waits and a slot is free: it would be popped at once, so it skips the queue (whose
    // array, emptied after every task, would otherwise grow a new backing store each time).
    if (this.queue.size === 0 && !this.paused && this.runningCount < this.maxConcurrency) {
      this.start(task);
      return;
    }
    this.queue.push(task);
    this.pump();
  }

  /** Removes and returns every queued (not started) task. */
  drainQueued(): T[] {
    const out: T[] = [];
    for (let t = this.queue.pop(); t !== undefined; t = this.queue.pop()) out.push(t);
    return out;
  }

  /** Gives the queued tasks `which` picks a new priority, and moves them in the queue accordingly. */
  reprioritize(which: (task: T) => boolean, priority: number): void {
    for (const task of this.queue.toArray()) {
      if (!which(task) || task.priority === priority) continue;
      task.priority = priority;
      this.queue.update(task);
    }
  }

  /** Stops starting queued tasks (running ones go on). */
  pause(): void {
    this.paused = true;
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.paused && this.runningCount < this.maxConcurrency) {
        const task = this.queue.pop();
        if (task === undefined) break;
        this.start(task);
      }
    } finally {
      this.pumping = false;
    }
    if (this.freed) {
      this.freed = false;
      this.onSlotFree();
    }
  }

  /**
   * A task started by `run` freed its slot. Its successor starts in a loop, not a call deeper:
   * a queue of fires that each end as they start (leases lost) must not grow the stack.
   */
  release(): void {
    this.runningCount -= 1;
    this.freed = true;
    this.pump();
  }

  private start(task: T): void {
    this.runningCount += 1;
    this.run(task);
  }
}
