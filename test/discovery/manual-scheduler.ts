import type { Scheduler } from '../../src/main/discovery/seed-source.js';

/** A scheduler the test drives: fire() runs every registered task once. */
export class ManualScheduler implements Scheduler {
  readonly tasks = new Map<number, { intervalMs: number; task: () => void }>();
  private next = 0;

  every(intervalMs: number, task: () => void): () => void {
    const id = this.next++;
    this.tasks.set(id, { intervalMs, task });
    return () => this.tasks.delete(id);
  }

  fire(): void {
    for (const { task } of [...this.tasks.values()]) task();
  }
}
