// Fills one outgoing message's piggyback lists from the dissemination queues,
// within the packet's byte budget. Most messages carry nothing, so empty
// lists are shared frozen arrays; scratch arrays are reused.
import type { Dissemination } from './dissemination.js';
import type { SwimBroadcast, SwimUpdate } from './messages.js';

const NO_UPDATES = Object.freeze([]) as unknown as SwimUpdate[];
const NO_BROADCASTS = Object.freeze([]) as unknown as SwimBroadcast[];

export class Piggyback {
  /** The lists for the message being built (valid until the next fill). */
  updates: SwimUpdate[] = NO_UPDATES;
  broadcasts: SwimBroadcast[] = NO_BROADCASTS;
  private readonly scratchUpdates: SwimUpdate[] = [];
  private readonly scratchBroadcasts: SwimBroadcast[] = [];

  constructor(
    private readonly gossip: Dissemination,
    private readonly budgetBytes: number,
  ) {}

  /**
   * Fills `updates` and `broadcasts` for one message to member `to` (`first`
   * goes first); returns how many items. Queued news about `to` itself is not
   * spent on it: the buddy copy in `first` is what it needs.
   */
  fill(first: SwimUpdate | null, to: string): number {
    const u = this.scratchUpdates;
    const b = this.scratchBroadcasts;
    if (first !== null) u.push(first);
    this.gossip.fill(u, b, this.budgetBytes, to);
    const items = u.length + b.length;
    this.updates = u.length === 0 ? NO_UPDATES : u.slice();
    this.broadcasts = b.length === 0 ? NO_BROADCASTS : b.slice();
    if (u.length > 0) u.length = 0;
    if (b.length > 0) b.length = 0;
    return items;
  }
}
