// Where a transaction core collects what one call produced (see step-outbox.ts).
import { StepOutbox } from '../step-outbox.js';
import type { TxEvent } from './events.js';
import type { TxMessage, TxSend } from './messages.js';

export class TxOutbox extends StepOutbox<TxSend, TxEvent> {
  send(to: string, message: TxMessage): void {
    this.sends.push({ to, message });
  }
}
