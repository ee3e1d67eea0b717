// What each fault scenario measured and which of its criteria held: printed as
// it goes, written to bench/results/faults.json, and rendered as the table the
// README shows (bench/results/faults.md).
import fs from 'node:fs';
import path from 'node:path';

export type Figure = number | string | boolean | null | readonly number[] | Readonly<Record<string, number | string | null>>;

export interface Criterion {
  readonly text: string;
  readonly pass: boolean;
  readonly measured: string;
  /** A goal is reported, met or missed, without failing the scenario. */
  readonly goal?: boolean;
}

export interface ScenarioResult {
  readonly name: string;
  readonly passed: boolean;
  readonly durationSec: number;
  readonly figures: Readonly<Record<string, Figure>>;
  readonly criteria: readonly Criterion[];
  /** One line for the table: the headline figures. */
  readonly summary: string;
}

/** The value at quantile q (0..1) of `values` by nearest rank; null when empty. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

export function ms(v: number | null): string {
  return v === null ? 'n/a' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
}

export class Scenario {
  private readonly started = performance.now();
  private readonly criteria: Criterion[] = [];
  private readonly figures: Record<string, Figure> = {};
  summary = '';

  constructor(readonly name: string) {
    console.log(`\n=== ${name}`);
  }

  figure(key: string, value: Figure): void {
    this.figures[key] = value;
    console.log(`  ${key}: ${JSON.stringify(value)}`);
  }

  check(text: string, pass: boolean, measured: string): void {
    this.criteria.push({ text, pass, measured });
    console.log(`  [${pass ? 'pass' : 'FAIL'}] ${text} — ${measured}`);
  }

  /** A target to report (met or missed) that does not fail the scenario. */
  goal(text: string, met: boolean, measured: string): void {
    this.criteria.push({ text, pass: met, measured, goal: true });
    console.log(`  [${met ? 'goal met' : 'goal missed'}] ${text} — ${measured}`);
  }

  /** The criteria that failed (empty when the scenario passed); goals do not count. */
  failures(): string[] {
    return this.criteria.filter((c) => !c.pass && c.goal !== true).map((c) => `${c.text} (${c.measured})`);
  }

  result(): ScenarioResult {
    return {
      name: this.name,
      passed: this.criteria.length > 0 && this.criteria.every((c) => c.pass || c.goal === true),
      durationSec: Math.round((performance.now() - this.started) / 100) / 10,
      figures: { ...this.figures },
      criteria: [...this.criteria],
      summary: this.summary,
    };
  }
}

export interface SuiteReport {
  readonly generatedAt: string;
  readonly preset: string;
  readonly hosts: number;
  readonly node: string;
  readonly cpus: number;
  readonly durationSec: number;
  readonly scenarios: readonly ScenarioResult[];
}

export function markdownTable(report: SuiteReport): string {
  const rows = report.scenarios.map((s) => {
    const criteria = s.criteria.map((c) => `${c.pass ? '✓' : c.goal === true ? '○ missed:' : '✗'} ${c.text}`).join('<br>');
    return `| ${s.name.replace(/\|/g, '\\|')} | ${s.summary.replace(/\|/g, '\\|')} | ${criteria.replace(/\|/g, '\\|')} | ${s.passed ? 'pass' : '**fail**'} |`;
  });
  return [
    `Measured ${report.generatedAt.slice(0, 10)}: ${report.hosts} network-namespace hosts, \`${report.preset}\` preset, Node ${report.node}, ${report.cpus} CPUs, ${Math.round(report.durationSec)} s in all.`,
    '',
    '| Scenario | Measured | Criteria | Result |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

export function writeReport(report: SuiteReport, dir: string): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'faults.json');
  const markdown = path.join(dir, 'faults.md');
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(markdown, markdownTable(report));
  return { json, markdown };
}
