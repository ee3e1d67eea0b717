// Where a transaction core collects what one call produced. flush() hands the
// outputs out as a TxStep whose arrays are reused (double buffered).
import type { TxEvent, TxStep } from './events.js';
import type { TxMessage, TxSend } from './messages.js';

export class TxOutbox {
  private sends: TxSend[] = [];
  private events: TxEvent[] = [];
  private readonly step: { sends: TxSend[]; events: TxEvent[] } = { sends: [], events: [] };

  send(to: string, message: TxMessage): void {
    this.sends.push({ to, message });
  }

  event(e: TxEvent): void {
    this.events.push(e);
  }

  /** Drops what was collected (a call that failed part way, e.g. on a log error). */
  discard(): void {
    this.sends.length = 0;
    this.events.length = 0;
  }

  /** The outputs since the last flush; valid until the next flush. */
  flush(): TxStep {
    const step = this.step;
    const sends = this.sends;
    const events = this.events;
    this.sends = step.sends;
    this.events = step.events;
    this.sends.length = 0;
    this.events.length = 0;
    step.sends = sends;
    step.events = events;
    return step;
  }
}
