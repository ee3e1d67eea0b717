// Where the membership core collects what one call produced (see step-outbox.ts).
import type { Channel, Send, SwimMessage } from './messages.js';
import type { SwimEvent } from './events.js';
import { StepOutbox } from '../step-outbox.js';

export class Outbox extends StepOutbox<Send, SwimEvent> {
  send(to: string, channel: Channel, message: SwimMessage): void {
    this.sends.push({ to, channel, message });
  }
}
