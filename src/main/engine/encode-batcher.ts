// Gathers envelopes given one at a time into batches, so that no worker is
// ever handed a single small message: a batch leaves when it holds
// `maxMessages` envelopes, or when its delay is up (the end of the current
// event-loop turn for a delay of 0). Each envelope's promise resolves to its
// own frame, a view into the batch's buffer.
import type { Envelope } from '../../shared/envelope/index.js';
import type { EncodedBatch } from '../../workers/frame-batch.js';
import { toError } from '../../workers/task-error.js';

export type EncodeRunner = (envelopes: Envelope[]) => Promise<EncodedBatch>;

export class EncodeBatcher {
  private envelopes: Envelope[] = [];
  private resolves: Array<(frame: Uint8Array) => void> = [];
  private rejects: Array<(error: unknown) => void> = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private readonly schedule: () => void;
  private readonly cancel: (timer: NodeJS.Timeout | NodeJS.Immediate) => void;
  private readonly flushBound = (): void => {
    this.timer = null;
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly run: EncodeRunner,
    private readonly maxMessages: number,
    maxDelayUs: number,
  ) {
    // decided once: an immediate for 0, a timer (whole ms) otherwise
    if (maxDelayUs === 0) {
      this.schedule = () => (this.timer = setImmediate(this.flushBound));
      this.cancel = (t) => clearImmediate(t as NodeJS.Immediate);
    } else {
      const ms = Math.ceil(maxDelayUs / 1000);
      this.schedule = () => (this.timer = setTimeout(this.flushBound, ms));
      this.cancel = (t) => clearTimeout(t as NodeJS.Timeout);
    }
  }

  /** Envelopes waiting for their batch to leave. */
  get pending(): number {
    return this.envelopes.length;
  }

  submit(envelope: Envelope): Promise<Uint8Array> {
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      this.resolves.push(resolve);
      this.rejects.push(reject);
    });
    this.envelopes.push(envelope);
    if (this.envelopes.length >= this.maxMessages) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      this.schedule();
    }
    return promise;
  }

  /** Sends what is gathered now; returns when its batch is settled. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      this.cancel(this.timer);
      this.timer = null;
      this.scheduled = false;
    }
    const envelopes = this.envelopes;
    if (envelopes.length === 0) return Promise.resolve();
    const resolves = this.resolves;
    const rejects = this.rejects;
    this.envelopes = [];
    this.resolves = [];
    this.rejects = [];
    return this.run(envelopes).then(
      (batch) => {
        let e = 0;
        const errors = batch.errors;
        for (let i = 0; i < resolves.length; i++) {
          if (e < errors.length && errors[e].index === i) rejects[i](toError(errors[e++]));
          else resolves[i](batch.bytes.subarray(i === 0 ? 0 : batch.ends[i - 1], batch.ends[i]));
        }
      },
      (error: unknown) => {
        for (const reject of rejects) reject(error);
      },
    );
  }
}
