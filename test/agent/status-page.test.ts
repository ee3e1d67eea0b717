// The agent's status page in a real browser: Debian's Chromium (/usr/bin/chromium,
// from the `chromium` package) driven by playwright-core. Five agents in
// process, the first one serving --http and sending --traffic; the page must
// load without console errors, list the five members alive, show the leader
// and term, draw the latency chart, and — without a reload — show a member
// stopped abruptly (no leave) as dead.
//
// Chromium missing: under CI (env CI set) the suite fails, since .ci/run
// installs it; elsewhere it is skipped with a message saying how to install it.
//
// STATUS_PAGE_SCREENSHOT=docs/status-page.png npx vitest run test/agent/status-page.test.ts
// also writes the screenshot the README shows (five members, a minute of traffic).
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent, type AgentHandle } from '../../src/main/agent/agent.js';
import { until } from '../support/until.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const MEMBERS = 5;
/** Bound on stop → "dead" on the page: SWIM local preset detection (~0.6–2.4 s suspicion after a missed probe) plus one 1 s poll, with margin for 2 shared cores. */
const DEAD_WITHIN_MS = 10_000;

/** Where to write a screenshot, if anywhere (the README's docs/status-page.png). */
const SCREENSHOT = process.env.STATUS_PAGE_SCREENSHOT ?? '';
const underCi = (process.env.CI ?? '') !== '' && process.env.CI !== 'false';
const installed = fs.existsSync(CHROMIUM);
if (!installed && !underCi) {
  process.stderr.write(`status-page.test.ts: skipped, ${CHROMIUM} not found (apt-get install -y chromium); under CI it is required\n`);
}

/** What the page shows, read in one evaluation (the page redraws it all in one task, so this is one refresh). */
interface Shown {
  readonly members: readonly (readonly [string, string])[];
  readonly alive: string;
  readonly leader: string;
  readonly term: string;
}
const SHOWN = `(() => ({
  members: [...document.querySelectorAll('#members tr')].map((tr) => [tr.dataset.member, tr.dataset.state]),
  alive: document.getElementById('alive').textContent,
  leader: document.getElementById('leader').textContent,
  term: document.getElementById('term').textContent,
}))()`;

const quiet = (): Writable => new Writable({ write: (_c, _e, done) => done() });

describe.skipIf(!installed && !underCi)('status page in headless Chromium', () => {
  const agents: AgentHandle[] = [];
  let browser: Browser;
  let page: Page;
  /** Console errors, uncaught exceptions, failed and non-2xx requests seen by the page. */
  const problems: string[] = [];
  let navigations = 0;

  beforeAll(async () => {
    if (!installed) throw new Error(`${CHROMIUM} not found: the status page test needs Debian's chromium package (.ci/run installs it)`);
    const common = ['--cluster', 'page', '--preset', 'local', '--bind', '127.0.0.1:0'];
    agents.push(await runAgent(['--node-id', 's0', ...common, '--http', '127.0.0.1:0', '--traffic', '100', '--datacenter', 'dc-a'], quiet()));
    for (let i = 1; i < MEMBERS; i++) {
      agents.push(await runAgent(['--node-id', `s${i}`, ...common, '--join', agents[0].node.gossipAddress, '--datacenter', i % 2 === 0 ? 'dc-a' : 'dc-b'], quiet()));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1120, height: 660 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => {
      // requests still pending when the browser closes are not the page's fault
      if (!browser.isConnected()) return;
      problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(agents.map((a) => a.close()));
  });

  const shown = (): Promise<Shown> => page.evaluate<Shown>(SHOWN);
  /** The page shows the leader and term this node (s0) knows now. */
  const showsCurrentLeader = async (): Promise<boolean> => {
    const s = await shown();
    const l = agents[0].node.leader();
    return l !== null && s.leader === l.nodeId && s.term === String(l.term);
  };

  it('loads, lists the five members alive, the leader and term, and draws the latency chart', async () => {
    const response = await page.goto(`http://${agents[0].httpAddress}/`);
    expect(response?.status()).toBe(200);
    await expect.poll(() => page.locator('#node').textContent(), { timeout: 5_000 }).toBe('s0');
    expect(await page.title()).toBe('clusterwire s0');

    const allAlive = { members: ['s0', 's1', 's2', 's3', 's4'].map((id) => [id, 'alive']), alive: `${MEMBERS} / ${MEMBERS}` };
    await expect.poll(shown, { timeout: 15_000 }).toMatchObject(allAlive);
    expect(await page.locator('#members tr[data-member="s0"] td').first().textContent()).toBe('s0 (this node)');

    await until(() => agents.every((a) => a.node.leader() !== null && a.node.leader()?.nodeId === agents[0].node.leader()?.nodeId), 15_000, 20);
    await expect.poll(showsCurrentLeader, { timeout: 5_000 }).toBe(true);
    expect(Number((await shown()).term)).toBeGreaterThan(0);

    // The chart: two polylines (p50, p99) over at least two seconds of history,
    // with points above the baseline once requests complete (latency > 0).
    await expect.poll(() => page.locator('#chart polyline').count(), { timeout: 10_000 }).toBe(2);
    const baseline = Number(await page.locator('#chart line').first().getAttribute('y1'));
    const liftedPoints = async (): Promise<number> => {
      const points = (await page.locator('#chart polyline').first().getAttribute('points')) ?? '';
      return points
        .trim()
        .split(/\s+/)
        .filter((p) => Number(p.split(',')[1]) < baseline).length;
    };
    await expect.poll(liftedPoints, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(async () => Number(await page.locator('#rps').textContent()), { timeout: 5_000 }).toBeGreaterThan(0);
    expect(await page.locator('#lat').textContent()).toMatch(/^\d+\.\d\d \/ \d+\.\d\d ms$/);
    expect(await page.locator('#msgs').textContent()).toMatch(/^[1-9]\d* \/ [1-9]\d*$/);
    // an RTT for every other member once heartbeats have run
    await expect
      .poll(async () => (await page.locator('#members tr:not([data-member="s0"]) td:nth-child(6)').allTextContents()).every((t) => /^\d+\.\d\d$/.test(t)), { timeout: 10_000 })
      .toBe(true);

    if (SCREENSHOT !== '') {
      // a full minute of steady traffic: the connection set-up of the first seconds out of the chart
      await new Promise((r) => setTimeout(r, 62_000));
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
    expect(await page.locator('#error').textContent()).toBe('');
    expect(problems).toEqual([]);
  }, SCREENSHOT === '' ? undefined : 120_000);

  it('shows a member stopped without leaving as dead, live, without a reload', async () => {
    await page.evaluate('window.__sameDocument = true');
    await until(() => agents[0].node.leader() !== null, 15_000, 20);
    const leaderId = agents[0].node.leader()!.nodeId;
    const victim = agents.slice(1).find((a) => a.node.id !== leaderId)!;
    const stoppedAt = performance.now();
    await victim.node.stop();

    const dead = page.locator(`#members tr[data-member="${victim.node.id}"][data-state="dead"]`);
    await dead.waitFor({ state: 'attached', timeout: DEAD_WITHIN_MS });
    const shownAfterMs = performance.now() - stoppedAt;
    process.stderr.write(`status page: ${victim.node.id} shown dead ${(shownAfterMs / 1000).toFixed(2)} s after it stopped\n`);
    expect(shownAfterMs).toBeLessThan(DEAD_WITHIN_MS);
    expect(await dead.locator('td.state').textContent()).toBe('dead');
    // the others alive beside it (a moment's suspicion of one on a loaded machine may need a refresh to clear)
    const oneDead = {
      members: ['s0', 's1', 's2', 's3', 's4'].map((id) => [id, id === victim.node.id ? 'dead' : 'alive']),
      alive: `${MEMBERS - 1} / ${MEMBERS}`,
    };
    await expect.poll(shown, { timeout: 5_000 }).toMatchObject(oneDead);
    await expect.poll(showsCurrentLeader, { timeout: 5_000 }).toBe(true);

    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(navigations).toBe(1);
    expect(await page.locator('#error').textContent()).toBe('');
    expect(problems).toEqual([]);
  });
});
