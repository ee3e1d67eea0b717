// Raft leader election: the pure core, its storage, the voter set derived from
// membership, the one-leader-per-term check, and the simulator that runs it.
export { RaftElection, type RaftDeps } from './raft.js';
export type { RaftEvent, RaftRole, RaftStep, RoleChangeReason } from './events.js';
export { isRaftMessage, type RaftMessage, type RaftMessageType, type RaftSend } from './messages.js';
export { RaftPresets, resolveRaftOptions, type RaftOptions, type RaftOptionsInput, type RaftTuning, type RaftPresetName, type Switch } from './options.js';
export { MemoryElectionStore, type ElectionState, type ElectionStore } from './store.js';
export { FileElectionStore, type FileElectionStoreOptions } from './file-store.js';
export { quorumOf } from './quorum.js';
export { MembershipVoters } from './voters.js';
export { LeaderLedger, type LedgerViolation } from './leader-ledger.js';
export { ElectionSimulation, type ElectionSimulationOptions, type ElectionReport, type NodeStatus as ElectionNodeStatus } from './simulation.js';
export { runElectionWorkload, type ElectionWorkloadOptions, type ElectionWorkloadResult } from './election-workload.js';
export { formatElectionReport, histogram } from './report-format.js';
