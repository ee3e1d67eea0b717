// Where the election core collects what one call produced (see step-outbox.ts).
import { StepOutbox } from '../step-outbox.js';
import type { RaftEvent } from './events.js';
import type { RaftMessage, RaftSend } from './messages.js';

export class RaftOutbox extends StepOutbox<RaftSend, RaftEvent> {
  send(to: string, message: RaftMessage): void {
    this.sends.push({ to, message });
  }
}
