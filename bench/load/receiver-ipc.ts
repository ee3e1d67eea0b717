// What a receiving process of the load harness says to the harness over IPC
// (receiver.ts, peer-receiver.ts): its counts ('counts', 'reset'), its CPU
// time ('cpu'), and it exits on 'exit' or when the harness is gone.

/** Messages and payload bytes received since the last reset. */
export const tally = { messages: 0, bytes: 0 };

/** Answers the harness from now on, then tells it the receiver is ready (with `ready`: its port, its endpoints). */
export function serveHarness(ready: Record<string, unknown>): void {
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'counts') process.send!({ type: 'counts', ...tally });
    if (msg.type === 'reset') {
      tally.messages = 0;
      tally.bytes = 0;
      process.send!({ type: 'reset' });
    }
    if (msg.type === 'cpu') process.send!({ type: 'cpu', ...process.cpuUsage() });
    if (msg.type === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0)); // the harness is gone, however it ended
  process.send!({ type: 'ready', ...ready });
}
