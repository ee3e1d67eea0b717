// The fault suite on real hosts (issue 8): five agents, one per network
// namespace, and the scenarios with their pass criteria. Each scenario
// prints what it measured; afterAll writes bench/results/faults.json and the
// README's table (bench/results/faults.md). Run as root: `npm run test:faults`.
//
// Scenarios run in order on one cluster; each starts from a converged
// cluster (all five alive in every view, one leader), so one that fails
// leaves the next a fair start. Times come from the agents' own log lines
// (pino's wall clock, the same kernel clock in every namespace) against the
// moment the suite injected the fault.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/main/agent/status.js';
import { RaftPresets } from '../../src/main/leadership/options.js';
import { sleep, type AgentProcess } from './agent-process.js';
import { ClusterLab, TRAFFIC_TIMEOUT_MS } from './cluster-lab.js';
import { liveAgents } from './agent-process.js';
import { NetLab } from './netns.js';
import { Scenario, ms, quantile, writeReport, type ScenarioResult } from './report.js';

const PRESET = 'lan';
const SIZE = 5;
const SPARE = 4;
const RESULTS = new URL('../../bench/results/', import.meta.url).pathname;

const lab = new NetLab(SIZE + SPARE);
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-faults-'));
let cluster: ClusterLab;
const results: ScenarioResult[] = [];
const suiteStart = performance.now();

// Whatever ends this worker (a failure, Ctrl-C, a kill), the agents and the hosts go with it.
const teardown = (): void => {
  for (const a of liveAgents) a.killNow();
  lab.down();
};
process.once('exit', teardown);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    teardown();
    process.exit(130);
  });
}

async function scenario(name: string, body: (s: Scenario) => Promise<void>): Promise<void> {
  const s = new Scenario(name);
  try {
    await body(s);
  } catch (error) {
    s.check('scenario ran to the end', false, (error as Error).message.split('\n')[0]);
    throw error;
  } finally {
    results.push(s.result());
  }
  expect(s.failures()).toEqual([]);
}

/** Back to a converged five-node cluster with no faults, restarting what is down. */
async function reset(): Promise<void> {
  lab.heal();
  for (const a of cluster.agents) {
    if (a.running) a.signal('SIGCONT');
    else await a.start();
  }
  await cluster.waitConverged(45_000);
}

/** Polls `fn` every `everyMs` until it returns non-null, or null after `timeoutMs`. */
async function poll<T>(fn: () => Promise<T | null> | T | null, timeoutMs: number, everyMs = 100): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > end) return null;
    await sleep(everyMs);
  }
}

const aliveIn = (s: AgentStatus | null, member: string): boolean => s?.members.some((m) => m.nodeId === member && m.state === 'alive') ?? false;

describe('fault suite on network-namespace hosts', () => {
  beforeAll(async () => {
    lab.up();
    cluster = new ClusterLab(lab, runDir, SIZE, PRESET);
    console.log(`hosts up (${lab.hosts} namespaces); agent logs in ${runDir}`);
    const t0 = Date.now();
    for (const a of cluster.agents) await a.start();
    const formed = await cluster.waitConverged(60_000);
    console.log(`cluster formed: ${Date.now() - t0} ms from the first start (${formed} ms after the last agent was ready)`);
  }, 120_000);

  afterAll(async () => {
    try {
      const whole = new Scenario('whole run: one leader per term');
      const twice = cluster.termsWithTwoLeaders();
      const terms = new Set(cluster.leaderChanges().map((c) => c.term));
      whole.figure('terms', terms.size);
      whole.check('never two leaders in one term', twice.length === 0, twice.length === 0 ? `${terms.size} terms, one leader each` : JSON.stringify(twice));
      whole.summary = `${terms.size} terms over the run`;
      results.push(whole.result());
      await cluster.close();
    } finally {
      lab.down();
      const report = {
        generatedAt: new Date().toISOString(),
        preset: PRESET,
        hosts: SIZE,
        node: process.versions.node,
        cpus: os.cpus().length,
        durationSec: (performance.now() - suiteStart) / 1000,
        scenarios: results,
      };
      const files = writeReport(report, RESULTS);
      console.log(`\nwrote ${files.json} and ${files.markdown}; agent logs in ${runDir}`);
    }
  }, 60_000);

  it('steady 2 min: no suspicion turns into a death; all views equal', async () => {
    await scenario('steady 2 min', async (s) => {
      await reset();
      const t0 = Date.now();
      // a view: the members a node holds in the cluster (alive or suspect; a suspicion is allowed, a death is not)
      const want = cluster.names.join(',');
      let samples = 0;
      let unequal = 0;
      let withSuspect = 0;
      while (Date.now() - t0 < 120_000) {
        const st = [...(await cluster.statuses()).values()];
        const views = st.map((x) => (x === null ? 'no answer' : x.members.filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.nodeId).sort().join(',')));
        samples++;
        if (views.some((v) => v !== want)) unequal++;
        if (st.some((x) => x?.members.some((m) => m.state === 'suspect'))) withSuspect++;
        await sleep(2_000);
      }
      const suspects = cluster.memberEvents('member-suspect', null, t0);
      const deaths = cluster.memberEvents('member-failed', null, t0);
      s.figure('samples', samples);
      s.figure('samplesWithUnequalViews', unequal);
      s.figure('samplesWithASuspect', withSuspect);
      s.figure('suspicions', suspects.length);
      s.figure('deaths', deaths.length);
      s.summary = `${samples} samples over 120 s, ${unequal} with unequal views (${withSuspect} with a member suspected); ${suspects.length} suspicions, ${deaths.length} deaths`;
      s.check('no suspicion turns into a death', deaths.length === 0, `${suspects.length} suspicions, ${deaths.length} deaths`);
      s.check('all views equal', unequal === 0, `${unequal} of ${samples} samples unequal (the same ${SIZE} members everywhere otherwise; ${withSuspect} samples with one suspected)`);
    });
  }, 200_000);

  it('10 % loss on every host: no false death; broadcasts reach everyone, p99 ≤ 5 s', async () => {
    await scenario('10 % loss on every host', async (s) => {
      await reset();
      const hosts = Array.from({ length: SIZE }, (_, i) => i + 1);
      const before = await cluster.statuses();
      const t0 = Date.now();
      lab.loss(hosts, 10);
      const windowMs = 75_000;
      await sleep(windowMs);
      const t1 = Date.now();
      // the broadcasts counted are those sent in the window but its last 5 s; they have 5 s (and more) to arrive
      await sleep(5_000);
      const statuses = await cluster.statuses();
      lab.loss(hosts, 0);
      const deaths = cluster.memberEvents('member-failed', null, t0);
      const suspects = cluster.memberEvents('member-suspect', null, t0);
      s.figure('suspicions', suspects.length);
      s.figure('falseDeaths', deaths.length);
      s.check('no false death', deaths.length === 0, `${deaths.length} deaths (${suspects.length} suspicions)`);
      const byVia: Record<string, number[]> = {};
      const missing: string[] = [];
      let counted = 0;
      for (const sender of ['n1', 'n2']) {
        const st = statuses.get(sender);
        const sent = st?.broadcasts?.sent.filter((b) => b.at >= t0 && b.at <= t1 - 5_000) ?? [];
        counted += sent.length;
        for (const receiver of cluster.names.filter((n) => n !== sender)) {
          const got = statuses.get(receiver)?.broadcasts?.received.filter((r) => r.origin === sender) ?? [];
          const bySeq = new Map(got.map((r) => [r.seq, r]));
          for (const b of sent) {
            const r = bySeq.get(b.seq);
            if (r === undefined) missing.push(`${sender}#${b.seq}→${receiver}`);
            else (byVia[b.via] ??= []).push(r.latencyMs);
          }
        }
      }
      const all = Object.values(byVia).flat();
      const p99 = missing.length > 0 ? Infinity : quantile(all, 0.99);
      for (const [via, lat] of Object.entries(byVia)) {
        s.figure(`broadcast.${via}`, { deliveries: lat.length, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), maxMs: quantile(lat, 1) });
      }
      s.figure('broadcastsCounted', counted);
      s.figure('deliveriesMissing', missing.length);
      const beforeTraffic = [...before.values()].reduce((n, x) => n + (x?.traffic.completed ?? 0), 0);
      const afterTraffic = [...statuses.values()].reduce((n, x) => n + (x?.traffic.completed ?? 0), 0);
      s.figure('requestsCompletedUnderLoss', afterTraffic - beforeTraffic);
      s.check(
        'broadcasts reach everyone',
        counted > 0 && missing.length === 0,
        `${counted} broadcasts × 4 receivers, ${missing.length} missing${missing.length > 0 ? ` (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})` : ''}`,
      );
      s.check('broadcast delivery p99 ≤ 5 s', p99 !== null && p99 <= 5_000, `p99 ${p99 === Infinity ? 'unbounded (missing deliveries)' : ms(p99)}`);
      const g = byVia.gossip ?? [];
      const d = byVia.direct ?? [];
      s.summary = `no false death: ${deaths.length} deaths, ${suspects.length} suspicions; ${counted} broadcasts, ${missing.length} missing; gossip p50/p99 ${ms(quantile(g, 0.5))}/${ms(quantile(g, 0.99))}, direct ${ms(quantile(d, 0.5))}/${ms(quantile(d, 0.99))}`;
    });
  }, 200_000);

  it('kill -9 one node: every other node marks it dead; restarted, it is alive everywhere within 5 s', async () => {
    await scenario('kill -9 one node', async (s) => {
      const detections: number[] = [];
      const rejoins: number[] = [];
      const elections: number[] = [];
      const perRound: Record<string, string>[] = [];
      let undetected = 0;
      for (const pick of ['n5', 'n4', 'leader', 'n3', 'n2']) {
        await reset();
        const leader = await cluster.leader();
        const target = cluster.agent(pick === 'leader' ? leader!.nodeId : pick === leader?.nodeId ? 'n1' : pick);
        const observers = cluster.agents.filter((a) => a !== target);
        const t0 = Date.now();
        await target.kill();
        const detected = await poll(() => {
          const lines = cluster.memberEvents('member-failed', target.name, t0, observers);
          return new Set(lines.map((l) => l.observer)).size === observers.length ? lines : null;
        }, 30_000);
        const times = observers.map((o) => {
          const l = (detected ?? cluster.memberEvents('member-failed', target.name, t0, observers)).find((x) => x.observer === o.name);
          return l === undefined ? null : l.time - t0;
        });
        undetected += times.filter((t) => t === null).length;
        for (const t of times) if (t !== null) detections.push(t);
        const round: Record<string, string> = { target: target.name, wasLeader: String(leader?.nodeId === target.name), detectMs: times.map((t) => (t === null ? '-' : String(t))).join('/') };
        if (leader?.nodeId === target.name) {
          const elected = await poll(() => {
            const firsts = observers.map((o) => cluster.leaderChanges(t0, [o]).find((c) => c.leader !== null && c.leader !== target.name && c.term > leader.term));
            return firsts.every((f) => f !== undefined) ? Math.max(...firsts.map((f) => f!.time)) - t0 : null;
          }, 20_000);
          if (elected !== null) elections.push(elected);
          round.electionMs = elected === null ? 'none' : String(elected);
        }
        const t1 = Date.now();
        await target.start();
        const ready = target.lines('agent ready', t1)[0]?.time ?? Date.now();
        const alive = await poll(async () => {
          const st = await cluster.statuses(observers);
          return [...st.values()].every((x) => aliveIn(x, target.name)) ? Date.now() - t1 : null;
        }, 15_000);
        // from the observers' logs: when each saw it come back
        const back = observers.map((o) => cluster.memberEvents('member-alive', target.name, t1, [o])[0] ?? cluster.memberEvents('member-joined', target.name, t1, [o])[0]);
        const fromLogs = back.every((b) => b !== undefined) ? Math.max(...back.map((b) => b!.time)) - t1 : null;
        const rejoin = fromLogs ?? alive;
        rejoins.push(rejoin ?? Infinity);
        round.startMs = String(ready - t1);
        round.aliveEverywhereMs = rejoin === null ? 'never' : String(rejoin);
        perRound.push(round);
        console.log(`  round: ${JSON.stringify(round)}`);
      }
      const p50 = quantile(detections, 0.5);
      const p99 = quantile(detections, 0.99);
      s.figure('rounds', perRound as unknown as Record<string, string>);
      s.figure('detectionMs', { samples: detections.length, p50: p50, p99: p99, max: quantile(detections, 1) });
      s.figure('leaderElectionMs', elections);
      s.figure('aliveEverywhereAfterRestartMs', rejoins.map((r) => (Number.isFinite(r) ? r : -1)));
      s.check('every other node marks it dead', undetected === 0 && detections.length > 0, `${detections.length} of ${detections.length + undetected} observers`);
      // the issue asks to report these times against the goal; passing is every node marking it dead
      s.goal('detection p50 ≤ 3 s (goal)', p50 !== null && p50 <= 3_000, `p50 ${ms(p50)}`);
      s.goal('detection p99 ≤ 6 s (goal)', p99 !== null && p99 <= 6_000, `p99 ${ms(p99)}`);
      const worst = Math.max(...rejoins);
      s.check('restarted, alive everywhere within 5 s', worst <= 5_000, `worst ${Number.isFinite(worst) ? ms(worst) : 'never'} (from the restart)`);
      s.summary = `${perRound.length} kills, ${detections.length} detections: p50 ${ms(p50)}, p99 ${ms(p99)}; new leader in ${elections.map((e) => ms(e)).join(', ') || 'n/a'}; alive everywhere ${ms(quantile(rejoins, 0.5))} (median), ${Number.isFinite(worst) ? ms(worst) : 'never'} (worst) after restart`;
    });
  }, 400_000);

  it('SIGSTOP a node 10 s, then SIGCONT: it refutes or rejoins; a leader steps down; never two leaders in one term', async () => {
    await scenario('SIGSTOP 10 s, then SIGCONT', async (s) => {
      await reset();
      const leader = (await cluster.leader())!;
      const target = cluster.agent(leader.nodeId);
      const observers = cluster.agents.filter((a) => a !== target);
      const incarnationBefore = (await target.status())?.members.find((m) => m.self)?.incarnation ?? 0;
      const t0 = Date.now();
      target.signal('SIGSTOP');
      await sleep(10_000);
      const t1 = Date.now();
      target.signal('SIGCONT');
      const back = await poll(async () => {
        const st = await cluster.statuses();
        const me = st.get(target.name);
        const agreed = new Set([...st.values()].map((x) => (x?.leader ? `${x.leader.nodeId}@${x.leader.term}` : 'none')));
        return [...st.values()].every((x) => aliveIn(x, target.name)) && me !== null && !me!.isLeader && agreed.size === 1 && !agreed.has('none') ? Date.now() - t1 : null;
      }, 30_000);
      const after = await target.status();
      const incarnationAfter = after?.members.find((m) => m.self)?.incarnation ?? null;
      const failed = cluster.memberEvents('member-failed', target.name, t0, observers);
      const suspected = cluster.memberEvents('member-suspect', target.name, t0, observers);
      const newLeader = cluster.leaderChanges(t0, observers).filter((c) => c.leader !== null && c.leader !== target.name && c.term > leader.term);
      const electedAt = observers.every((o) => newLeader.some((c) => c.node === o.name)) ? Math.max(...observers.map((o) => newLeader.find((c) => c.node === o.name)!.time)) - t0 : null;
      const stepDown = cluster.leaderChanges(t1, [target]).find((c) => c.leader !== target.name);
      const stepDownMs = stepDown === undefined ? null : stepDown.time - t1;
      const twice = cluster.termsWithTwoLeaders(t0 - 1_000);
      s.figure('target', target.name);
      s.figure('wasLeader', true);
      s.figure('markedDeadBy', new Set(failed.map((f) => f.observer)).size);
      s.figure('firstSuspectMs', suspected.length === 0 ? null : Math.min(...suspected.map((x) => x.time)) - t0);
      s.figure('newLeaderElectedMs', electedAt);
      s.figure('stepDownAfterContMs', stepDownMs);
      s.figure('aliveEverywhereAfterContMs', back);
      s.figure('incarnation', { before: incarnationBefore, after: incarnationAfter });
      const refuted = incarnationAfter !== null && incarnationAfter > incarnationBefore;
      const rejoined = cluster.memberEvents('member-joined', target.name, t1, observers).length > 0;
      s.check('it refutes or rejoins', back !== null && (refuted || rejoined), back === null ? 'not alive everywhere within 30 s' : `alive everywhere ${ms(back)} after SIGCONT; incarnation ${incarnationBefore} → ${incarnationAfter}${rejoined ? ', rejoined' : ''}`);
      s.check('the paused leader steps down', stepDownMs !== null && after !== null && !after.isLeader, stepDownMs === null ? 'no step-down logged' : `${ms(stepDownMs)} after SIGCONT, to ${stepDown!.leader ?? 'none'} in term ${stepDown!.term}`);
      s.check('never two leaders in one term', twice.length === 0, twice.length === 0 ? 'one leader per term' : JSON.stringify(twice));
      s.summary = `leader ${target.name} paused: marked dead by ${new Set(failed.map((f) => f.observer)).size}/4, new leader in ${ms(electedAt)}; after SIGCONT it stepped down in ${ms(stepDownMs)}, alive everywhere in ${ms(back)} (incarnation ${incarnationBefore} → ${incarnationAfter})`;
    });
  }, 200_000);

  it('partition 2 | 3 for 30 s, then heal', async () => {
    await scenario('partition 2 | 3 for 30 s, then heal', async (s) => {
      await reset();
      const leader = (await cluster.leader())!;
      const minority = [cluster.agent(leader.nodeId), cluster.agents.find((a) => a.name !== leader.nodeId)!];
      const majority = cluster.agents.filter((a) => !minority.includes(a));
      const host = (a: AgentProcess): number => a.spec.host;
      const before = await cluster.statuses(minority);
      const t0 = Date.now();
      lab.partition(minority.map(host), majority.map(host));
      const minoritySamples: { at: number; node: string; isLeader: boolean; leader: string | null }[] = [];
      let lastMinority = new Map<string, AgentStatus | null>();
      while (Date.now() - t0 < 30_000) {
        lastMinority = await cluster.statuses(minority);
        for (const [node, st] of lastMinority) if (st !== null) minoritySamples.push({ at: Date.now() - t0, node, isLeader: st.isLeader, leader: st.leader?.nodeId ?? null });
        await sleep(500);
      }
      const t2 = Date.now();
      lab.heal();
      const viewMs = await poll(async () => ((await cluster.converged()).view ? Date.now() - t2 : null), 30_000);
      const leaderMs = await poll(async () => ((await cluster.converged()).leader ? Date.now() - t2 : null), 30_000);

      // the majority's election: each majority node's first report of a leader among them, in a later term
      const firsts = majority.map((o) => cluster.leaderChanges(t0, [o]).find((c) => c.leader !== null && majority.some((m) => m.name === c.leader) && c.term > leader.term && c.time <= t2));
      const electionMs = firsts.every((f) => f !== undefined) ? Math.max(...firsts.map((f) => f!.time)) - t0 : null;
      const graceMs = 3_000;
      const late = minoritySamples.filter((x) => x.at >= graceMs);
      const claimed = late.filter((x) => x.isLeader);
      const stepDown = cluster.leaderChanges(t0, [minority[0]]).find((c) => c.leader !== minority[0].name);
      // a minority follower names its old leader until it has heard nothing from it for an election
      // timeout: counted from the old leader's step-down (or the partition), plus the longest timeout
      const forgetMs = (stepDown === undefined ? 0 : stepDown.time - t0) + RaftPresets.lan.electionTimeoutMaxMs + 500;
      const knownLeader = minoritySamples.filter((x) => x.at >= Math.max(graceMs, forgetMs) && x.leader !== null);
      // the minority's requests in the partition: typed errors, none later than its deadline
      let failed = 0;
      let completed = 0;
      let slowestFailMs = 0;
      const codes: Record<string, number> = {};
      for (const a of minority) {
        const st = lastMinority.get(a.name);
        const b = before.get(a.name);
        if (st == null) continue;
        for (const sec of st.traffic.history.filter((h) => h.at >= t0 - 1_000 && h.at < t2)) {
          failed += sec.failed;
          completed += sec.completed;
          slowestFailMs = Math.max(slowestFailMs, sec.failedMaxMs);
        }
        for (const [code, n] of Object.entries(st.traffic.errors)) codes[code] = (codes[code] ?? 0) + n - (b?.traffic.errors[code] ?? 0);
      }
      for (const k of Object.keys(codes)) if (codes[k] === 0) delete codes[k];
      const untyped = Object.keys(codes).filter((c) => !/^ERR_[A-Z_]+$/.test(c) || c === 'ERR_UNKNOWN');
      s.figure('minority', minority.map((a) => a.name).join(','));
      s.figure('majorityElectionMs', electionMs);
      s.figure('oldLeaderStepDownMs', stepDown === undefined ? null : stepDown.time - t0);
      s.figure('minoritySamples', late.length);
      s.figure('minorityLeaderClaims', claimed.length);
      s.figure('minoritySamplesNamingALeader', knownLeader.length);
      s.figure('minorityRequests', { completed, failed, slowestFailMs: Math.round(slowestFailMs) });
      s.figure('minorityErrors', codes);
      s.figure('healOneViewMs', viewMs);
      s.figure('healOneLeaderMs', leaderMs);
      s.check('the minority has no leader: none of its nodes leads', claimed.length === 0, `${claimed.length} of ${late.length} samples (from ${graceMs / 1000} s on) with a minority node leading; the old leader stepped down after ${stepDown === undefined ? 'never' : ms(stepDown.time - t0)}`);
      const naming = [...new Set(knownLeader.map((x) => `${x.node}→${x.leader}`))];
      s.check('the minority has no leader: none of its nodes names one', knownLeader.length === 0, `${knownLeader.length} samples from ${ms(Math.max(graceMs, forgetMs))} on name a leader${naming.length > 0 ? ` (${naming.join(', ')})` : ''}`);
      s.check(
        'its requests fail with a typed error within their deadline',
        failed > 0 && untyped.length === 0 && slowestFailMs <= TRAFFIC_TIMEOUT_MS + 500,
        `${failed} failed (${Object.entries(codes).map(([c, n]) => `${c} ${n}`).join(', ')}), slowest after ${ms(slowestFailMs)} (deadline ${TRAFFIC_TIMEOUT_MS} ms)`,
      );
      s.check('the majority elects within 4 s', electionMs !== null && electionMs <= 4_000, `${ms(electionMs)}`);
      s.check('after heal, one view within 10 s without a manual join', viewMs !== null && viewMs <= 10_000, `${viewMs === null ? 'not within 30 s' : ms(viewMs)} (one leader after ${ms(leaderMs)})`);
      s.summary = `majority elected in ${ms(electionMs)}; minority: ${claimed.length} leader claims, ${failed} requests failed (${Object.keys(codes).join(', ')}), slowest ${ms(slowestFailMs)}; healed to one view in ${ms(viewMs)}, one leader in ${ms(leaderMs)}`;
    });
  }, 200_000);

  it('a clock off by 90 s is refused at the handshake (clock_skew); one off by 20 s is accepted', async () => {
    await scenario('clock skew (faketime)', async (s) => {
      await reset();
      const refusals = (a: AgentProcess, since: number, about: AgentProcess | null, reason: string): LogLineLike[] =>
        a.lines('handshake refused', since).filter((l) => l.reason === reason && (about === null || l.peer === about.name || String(l.peer).startsWith(`${about.address}:`)));
      const seen: Record<string, string | number | null> = {};
      for (const offset of [90, 20]) {
        const x = cluster.intruder(`skew${offset}`, SIZE + 1 + (offset === 90 ? 0 : 1), { clockOffsetSec: offset });
        const t0 = Date.now();
        await x.start();
        const clockAhead = ((x.lines('agent ready')[0]?.time ?? t0) - Date.now()) / 1000;
        const observed = await poll(async () => {
          const st = await x.status();
          const refusedHere = cluster.agents.flatMap((a) => refusals(a, t0, x, 'clock_skew'));
          if (offset === 90) return refusedHere.length > 0 && x.lines('handshake refused').length > 0 && (st?.traffic.failed ?? 0) > 0 ? st : null;
          return (st?.traffic.completed ?? 0) > 20 ? st : null;
        }, 20_000, 250);
        await sleep(2_000);
        const st = await x.status();
        const clusterSide = cluster.agents.flatMap((a) => refusals(a, t0, x, 'clock_skew'));
        const ownSide = x.lines('handshake refused').filter((l) => l.reason === 'clock_skew');
        const alive = [...(await cluster.statuses()).values()].filter((c) => aliveIn(c, x.name)).length;
        seen[`skew${offset}.clockAheadSec`] = Math.round(clockAhead);
        seen[`skew${offset}.refusalsLogged`] = clusterSide.length + ownSide.length;
        seen[`skew${offset}.requestsCompleted`] = st?.traffic.completed ?? null;
        seen[`skew${offset}.requestsFailed`] = st?.traffic.failed ?? null;
        s.figure(`skew${offset}`, { clockAheadSec: Math.round(clockAhead), refusedByCluster: clusterSide.length, refusedOwnLog: ownSide.length, completed: st?.traffic.completed ?? null, failed: st?.traffic.failed ?? null, inViews: alive });
        if (offset === 90) {
          const example = String(clusterSide[0]?.err ?? ownSide[0]?.err ?? 'none');
          s.figure('skew90.error', example);
          s.check('off by 90 s: refused at the handshake with clock_skew, logged', observed !== null && clusterSide.length > 0 && ownSide.length > 0, `${clusterSide.length} refusals logged by the cluster, ${ownSide.length} by the node: "${example}"`);
          const codes = Object.keys(st?.traffic.errors ?? {});
          s.check('off by 90 s: none of its requests gets through', (st?.traffic.completed ?? 1) === 0 && codes.every((c) => c === 'ERR_HANDSHAKE_REJECTED'), `${st?.traffic.completed} completed, errors ${JSON.stringify(st?.traffic.errors)}`);
        } else {
          s.check('off by 20 s: accepted', observed !== null && clusterSide.length === 0 && ownSide.length === 0 && alive === SIZE, `${st?.traffic.completed} requests completed, ${st?.traffic.failed} failed, ${clusterSide.length + ownSide.length} clock_skew refusals, alive in ${alive}/${SIZE} views`);
        }
        await x.stop();
      }
      s.summary = `+90 s: ${seen['skew90.refusalsLogged']} clock_skew refusals logged, ${seen['skew90.requestsCompleted']} requests through; +20 s: ${seen['skew20.requestsCompleted']} requests completed, ${seen['skew20.refusalsLogged']} refusals`;
    });
  }, 200_000);

  it('wrong cluster name, wrong secret, wrong CA, gossip key mismatch: refused and logged with the reason', async () => {
    await scenario('wrong cluster name, secret, CA, gossip key', async (s) => {
      await reset();
      const wrongSecret = cluster.writeFile('wrong-secret', Buffer.alloc(32, 7).toString('base64'));
      const wrongKey = cluster.writeFile('wrong-gossip.keys', Buffer.alloc(32, 9).toString('base64'));
      const about = (l: LogLineLike, x: AgentProcess): boolean => l.peer === x.name || String(l.peer).startsWith(`${x.address}:`);
      const summary: string[] = [];
      // gossip drops are counted per receiver, not per sender: the two gossip-level intruders run one after the other
      const phases: { name: string; host: number; options: Parameters<ClusterLab['intruder']>[2]; level: 'gossip' | 'handshake'; reason: RegExp }[][] = [
        [
          { name: 'x-cluster', host: SIZE + 1, options: { cluster: 'another-cluster' }, level: 'gossip', reason: /^decrypt$/ },
          { name: 'x-secret', host: SIZE + 2, options: { secretFile: wrongSecret }, level: 'handshake', reason: /^auth_failed$/ },
          { name: 'x-ca', host: SIZE + 3, options: { pki: cluster.otherPki }, level: 'handshake', reason: /^tls: / },
        ],
        [{ name: 'x-key', host: SIZE + 4, options: { gossipKeyFile: wrongKey }, level: 'gossip', reason: /^decrypt$/ }],
      ];
      for (const phase of phases) {
        const t0 = Date.now();
        const started = phase.map((p) => ({ ...p, agent: cluster.intruder(p.name, p.host, p.options) }));
        for (const p of started) await p.agent.start();
        await sleep(15_000);
        const views = await cluster.statuses();
        for (const p of started) {
          const x = p.agent;
          const st = await x.status();
          const inViews = [...views.values()].filter((v) => aliveIn(v, x.name)).length;
          let evidence: string;
          let logged: boolean;
          if (p.level === 'gossip') {
            const drops = cluster.agents.flatMap((a) => a.lines('membership packets dropped', t0)).filter((l) => Object.keys(l.dropped as object).some((k) => p.reason.test(k)));
            const joinFailed = x.lines('join failed').length > 0;
            logged = drops.length > 0;
            evidence = `${drops.length} "membership packets dropped" warnings (${JSON.stringify(drops[0]?.dropped ?? {})}) on the cluster; its own log: ${joinFailed ? '"join failed"' : 'no join failure yet'}; in ${inViews}/${SIZE} views; it sees ${st?.members.length ?? '?'} member(s)`;
            s.check(`${x.name}: refused`, inViews === 0 && (st?.traffic.completed ?? 0) === 0, `in ${inViews}/${SIZE} views, ${st?.traffic.completed ?? '?'} requests through`);
          } else {
            const clusterSide = cluster.agents.flatMap((a) => a.lines('handshake refused', t0)).filter((l) => about(l, x) && p.reason.test(String(l.reason)));
            const ownSide = x.lines('handshake refused').filter((l) => p.reason.test(String(l.reason)));
            logged = clusterSide.length > 0;
            evidence = `${clusterSide.length} "handshake refused" on the cluster, ${ownSide.length} on it (${String(clusterSide[0]?.reason ?? ownSide[0]?.reason ?? '-')}: "${String(clusterSide[0]?.err ?? ownSide[0]?.err ?? '')}"); gossip admits it: in ${inViews}/${SIZE} views`;
            s.check(`${x.name}: refused`, (st?.traffic.completed ?? 1) === 0 && (st?.traffic.failed ?? 0) > 0, `${st?.traffic.completed ?? '?'} requests through, ${st?.traffic.failed ?? '?'} refused (${JSON.stringify(st?.traffic.errors ?? {})})`);
          }
          s.check(`${x.name}: logged with the reason`, logged, evidence);
          s.figure(x.name, evidence);
          summary.push(`${x.name}: ${p.level === 'gossip' ? 'gossip dropped (decrypt)' : String(cluster.agents.flatMap((a) => a.lines('handshake refused', t0)).find((l) => about(l, x))?.reason ?? 'not logged')}`);
        }
        await Promise.all(started.map((p) => p.agent.stop()));
      }
      const leaderAfter = await poll(() => cluster.leader(), 10_000);
      s.figure('leaderThroughout', leaderAfter?.nodeId ?? null);
      s.summary = summary.join('; ');
    });
  }, 200_000);
});

type LogLineLike = { readonly [field: string]: unknown };
