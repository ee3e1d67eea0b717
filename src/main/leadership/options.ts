// Raft election options: the presets, their documented defaults, and the one
// place they are validated (resolveRaftOptions). The core reads only resolved,
// frozen values.
//
//   option                   lan      wan      local    meaning
//   heartbeatIntervalMs      100      500      50       leader -> every peer, an empty AppendEntries
//   electionTimeoutMinMs     1 000    5 000    150      a follower that hears no leader for a random time in
//   electionTimeoutMaxMs     2 000    10 000   300      [min, max) campaigns; also the check-quorum window and
//                                                      how long a follower refuses to vote after hearing a leader
//   preVote                  on       on       on       a pre-vote round first: a node that cannot win does not
//                                                      raise the term (a rejoining or partitioned node)
//   checkQuorum              on       on       on       a leader that has not heard from a majority within
//                                                      electionTimeoutMinMs steps down; followers that heard a
//                                                      leader within it refuse votes (leader stickiness)
//   campaignHealthScoreMax   1        1        1        no campaign while the Lifeguard local health score is above
//                                                      this (the node is likely the slow one)
//
// Identity options (no preset value): name (required), voters (the initial
// voter set; default: this node alone), learners (non-voting members that are
// told who leads; default none).
import { InvalidConfigError } from '../../shared/errors.js';
import { integerOption as int } from '../../shared/options.js';

export type Switch = 'on' | 'off';
export type RaftPresetName = 'lan' | 'wan' | 'local';

/** The tunable part: what a preset fixes. */
export interface RaftTuning {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly preVote: Switch;
  readonly checkQuorum: Switch;
  readonly campaignHealthScoreMax: number;
}

const lan: RaftTuning = Object.freeze({
  heartbeatIntervalMs: 100,
  electionTimeoutMinMs: 1_000,
  electionTimeoutMaxMs: 2_000,
  preVote: 'on',
  checkQuorum: 'on',
  campaignHealthScoreMax: 1,
} satisfies RaftTuning);

const wan: RaftTuning = Object.freeze({ ...lan, heartbeatIntervalMs: 500, electionTimeoutMinMs: 5_000, electionTimeoutMaxMs: 10_000 });

const local: RaftTuning = Object.freeze({ ...lan, heartbeatIntervalMs: 50, electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300 });

export const RaftPresets: Readonly<Record<RaftPresetName, RaftTuning>> = Object.freeze({ lan, wan, local });

export interface RaftOptions extends RaftTuning {
  readonly name: string;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

export type RaftOptionsInput = Partial<RaftTuning> & {
  readonly name: string;
  readonly preset?: RaftPresetName;
  readonly voters?: readonly string[];
  readonly learners?: readonly string[];
};

function switchOption(field: string, value: unknown): Switch {
  if (value !== 'on' && value !== 'off') throw new InvalidConfigError(field, `expected 'on' or 'off', got ${String(value)}`);
  return value;
}

/** A list of distinct non-empty member names. */
export function nameList(field: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new InvalidConfigError(field, 'expected an array of non-empty names');
  }
  if (new Set(value).size !== value.length) throw new InvalidConfigError(field, 'names must be distinct');
  return Object.freeze([...(value as string[])]);
}

/** Fills defaults from the preset (lan unless named) and validates every field. */
export function resolveRaftOptions(input: RaftOptionsInput | RaftOptions): RaftOptions {
  const preset = 'preset' in input && input.preset !== undefined ? input.preset : 'lan';
  if (!Object.hasOwn(RaftPresets, preset)) throw new InvalidConfigError('preset', `expected one of ${Object.keys(RaftPresets).join(', ')}, got ${String(preset)}`);
  const base = RaftPresets[preset];
  const pick = <K extends keyof RaftTuning>(k: K): RaftTuning[K] => (input[k] === undefined ? base[k] : (input[k] as RaftTuning[K]));
  if (typeof input.name !== 'string' || input.name.length === 0) throw new InvalidConfigError('name', 'expected a non-empty member name');
  const heartbeatIntervalMs = int('heartbeatIntervalMs', pick('heartbeatIntervalMs'), 1, 3_600_000);
  const electionTimeoutMinMs = int('electionTimeoutMinMs', pick('electionTimeoutMinMs'), 1, 3_600_000);
  const electionTimeoutMaxMs = int('electionTimeoutMaxMs', pick('electionTimeoutMaxMs'), 1, 3_600_000);
  if (electionTimeoutMaxMs <= electionTimeoutMinMs) {
    throw new InvalidConfigError('electionTimeoutMaxMs', `must be above electionTimeoutMinMs (${electionTimeoutMinMs}), got ${electionTimeoutMaxMs}`);
  }
  if (heartbeatIntervalMs * 2 > electionTimeoutMinMs) {
    throw new InvalidConfigError('heartbeatIntervalMs', `must be at most half of electionTimeoutMinMs (${electionTimeoutMinMs}), got ${heartbeatIntervalMs}`);
  }
  const voters = input.voters === undefined ? Object.freeze([input.name]) : nameList('voters', input.voters);
  const learners = input.learners === undefined ? Object.freeze([]) : nameList('learners', input.learners);
  for (const l of learners) if (voters.includes(l)) throw new InvalidConfigError('learners', `${l} is also a voter`);
  return Object.freeze({
    name: input.name,
    voters,
    learners,
    heartbeatIntervalMs,
    electionTimeoutMinMs,
    electionTimeoutMaxMs,
    preVote: switchOption('preVote', pick('preVote')),
    checkQuorum: switchOption('checkQuorum', pick('checkQuorum')),
    campaignHealthScoreMax: int('campaignHealthScoreMax', pick('campaignHealthScoreMax'), 0, 1_000),
  });
}
