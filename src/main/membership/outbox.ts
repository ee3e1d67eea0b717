// Where a core collects what one call produced: messages to send and events.
// flush() hands them out as a SwimStep whose arrays are reused (double
// buffered), so a steady stream of calls allocates no output arrays.
import type { Channel, Send, SwimMessage } from './messages.js';
import type { SwimEvent, SwimStep } from './events.js';

export class Outbox {
  sends: Send[] = [];
  events: SwimEvent[] = [];
  private readonly step: { sends: Send[]; events: SwimEvent[] } = { sends: [], events: [] };

  send(to: string, channel: Channel, message: SwimMessage): void {
    this.sends.push({ to, channel, message });
  }

  event(e: SwimEvent): void {
    this.events.push(e);
  }

  /** The outputs since the last flush; valid until the next flush. */
  flush(): SwimStep {
    const step = this.step;
    const sends = this.sends;
    const events = this.events;
    this.sends = step.sends;
    this.events = step.events;
    // Truncating an array that is already empty is not free: skip it.
    if (this.sends.length > 0) this.sends.length = 0;
    if (this.events.length > 0) this.events.length = 0;
    step.sends = sends;
    step.events = events;
    return step;
  }
}
