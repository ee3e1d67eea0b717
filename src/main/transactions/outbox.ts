// Where a transaction core collects what one call produced (see step-outbox.ts).
import { StepOutbox } from '../step-outbox.js';
import type { TxEvent, TxStep } from './events.js';
import type { TxMessage, TxSend } from './messages.js';

export class TxOutbox extends StepOutbox<TxSend, TxEvent> {
  /** What stopped the core (a log failure), or null. */
  failure: unknown = null;

  send(to: string, message: TxMessage): void {
    this.sends.push({ to, message });
  }

  /** Runs one input of the core; a failure (the log) stops it: this and every later call throw it. */
  guard(body: () => void): TxStep {
    if (this.failure !== null) throw this.failure;
    try {
      body();
    } catch (e) {
      this.failure = e;
      this.discard();
      throw e;
    }
    return this.flush();
  }
}
