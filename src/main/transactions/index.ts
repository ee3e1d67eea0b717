// Two-phase commit with recovery: the coordinator, participant and
// termination-protocol cores, their logs, the node-level adapter a host wires
// to its messaging, and the simulator that runs them under faults.
export { Transactions, type TransactionApplication, type TransactionsDeps, type TxResult, type TxVoteAnswer, type TimerApi } from './transactions.js';
export { TxCoordinator, type CoordinatorDeps, type TxPart } from './coordinator.js';
export { TxParticipant, type ParticipantDeps, type ParticipantState } from './participant.js';
export { TransactionRecovery, type RecoveryDeps, type TerminationPhase } from './recovery.js';
export type { TxEvent, TxStep } from './events.js';
export { isTxMessage, TX_MESSAGE_TYPES, TxState, TxVoteKind, type TxInfo, type TxMessage, type TxMessageType, type TxOutcome, type TxSend } from './messages.js';
export { TransactionDefaults, resolveTransactionOptions, type TransactionOptions, type TransactionOptionsInput, type TransactionTuning } from './options.js';
export { MemoryTxLog, type TxLog, type TxRecord, type TxRecordKind } from './log.js';
export { FileTxLog } from './file-log.js';
export { TransactionSimulation, type TransactionSimulationOptions, type SimTxRecord, type CrashPoint } from './simulation.js';
