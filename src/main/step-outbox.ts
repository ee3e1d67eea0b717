// Where a pure core collects what one call produced: messages to send and
// events. flush() hands them out as a step whose arrays are reused (double
// buffered), so a steady stream of calls allocates no output arrays. The
// membership, election and transaction cores each send through one of these.

export class StepOutbox<S, E> {
  sends: S[] = [];
  events: E[] = [];
  private readonly step: { sends: S[]; events: E[] } = { sends: [], events: [] };

  event(e: E): void {
    this.events.push(e);
  }

  /** Drops what was collected (a call that failed part way). */
  discard(): void {
    if (this.sends.length > 0) this.sends.length = 0;
    if (this.events.length > 0) this.events.length = 0;
  }

  /** The outputs since the last flush; valid until the next flush. */
  flush(): { readonly sends: S[]; readonly events: E[] } {
    const step = this.step;
    const sends = this.sends;
    const events = this.events;
    this.sends = step.sends;
    this.events = step.events;
    // truncating an array that is already empty is not free: skip it
    this.discard();
    step.sends = sends;
    step.events = events;
    return step;
  }
}
