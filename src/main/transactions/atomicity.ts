// The guarantees of two-phase commit as a check over what a run produced: the
// simulator and the tests call it during and after every run.
//
//   agreement   no two participants of a transaction log different outcomes
//   atomicity   no participant applies a commit while another aborted
//   stability   the outcome told to the coordinator's application is told
//               once, never changes, and every participant's outcome matches it
import type { TxOutcome } from './messages.js';
import type { SimTxRecord } from './simulation.js';

/** Every violation, as text naming the transaction and the participants. */
export function atomicityViolations(txs: Iterable<SimTxRecord>, loggedState: (participant: string, txId: string) => TxOutcome | 'prepared' | null): string[] {
  const out: string[] = [];
  for (const tx of txs) {
    const outcomes = new Map<string, TxOutcome>();
    for (const p of tx.participants) {
      const s = loggedState(p, tx.txId);
      if (s === 'committed' || s === 'aborted') outcomes.set(p, s);
    }
    const kinds = new Set(outcomes.values());
    if (kinds.size > 1) out.push(`${tx.txId}: participants disagree: ${[...outcomes].map(([p, o]) => `${p} ${o}`).join(', ')}`);
    const aborted = new Set([...tx.aborts, ...[...outcomes].filter(([, o]) => o === 'aborted').map(([q]) => q)]);
    for (const p of tx.applied) if (aborted.size > 0) out.push(`${tx.txId}: ${p} applied the commit while ${[...aborted].join(', ')} aborted`);
    if (new Set(tx.told).size > 1) out.push(`${tx.txId}: the application was told ${tx.told.join(' then ')}`);
    const told = tx.told[0];
    if (told !== undefined) {
      for (const [p, o] of outcomes) if (o !== told) out.push(`${tx.txId}: the application was told ${told}, ${p} ${o}`);
      if (told === 'aborted' && tx.applied.size > 0) out.push(`${tx.txId}: the application was told aborted, ${[...tx.applied].join(', ')} applied it`);
    }
  }
  return out;
}
