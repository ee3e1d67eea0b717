// Where the election core collects what one call produced. flush() hands the
// outputs out as a RaftStep whose arrays are reused (double buffered), so a
// steady stream of heartbeats allocates no output arrays.
import type { RaftEvent, RaftStep } from './events.js';
import type { RaftMessage, RaftSend } from './messages.js';

export class RaftOutbox {
  private sends: RaftSend[] = [];
  private events: RaftEvent[] = [];
  private readonly step: { sends: RaftSend[]; events: RaftEvent[] } = { sends: [], events: [] };

  send(to: string, message: RaftMessage): void {
    this.sends.push({ to, message });
  }

  event(e: RaftEvent): void {
    this.events.push(e);
  }

  /** The outputs since the last flush; valid until the next flush. */
  flush(): RaftStep {
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
