// Hosts for the fault suite: one network namespace per host, each with an
// eth0 (a veth) plugged into a bridge in the root namespace, and its own
// nftables table for faults. Faults act on packets arriving at a host (the
// input hook), so senders see no errors, as on a real network:
//
//   loss       numgen random mod 100 < N drop
//   partition  an address set: a host drops everything from the hosts in it
//
//   root ns:  bridge cwf-br 10.213.0.254/24  ── cwf-v1 ── eth0 10.213.0.1  (netns cwf-h1)
//                                            ── cwf-v2 ── eth0 10.213.0.2  (netns cwf-h2) ...
//
// The bridge address is the observer (the suite reads /status from the root
// namespace): its packets are never dropped. Needs root, iproute2 and nft.
// down() removes everything, and cleanStale() what a killed run left behind.
import { execFileSync } from 'node:child_process';

export const LAB_PREFIX = 'cwf';
const SUBNET = '10.213.0';
const OBSERVER = `${SUBNET}.254`;

function run(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: readonly string[]): void {
  try {
    run(cmd, args);
  } catch {
    // already gone
  }
}

/** The nftables table every host gets: observer traffic passes, then the partition set, then the loss chain. */
export function hostRuleset(observer = OBSERVER): string {
  return `table inet cwfault {
  set blocked { type ipv4_addr; }
  chain loss { }
  chain input {
    type filter hook input priority -150; policy accept;
    iifname "lo" accept
    ip saddr ${observer} accept
    ip saddr @blocked drop
    jump loss
  }
}
`;
}

/** The rule that drops `percent` % of the packets arriving on eth0 (none for 0). */
export function lossRule(percent: number): string | null {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new RangeError(`loss percent ${percent}`);
  return percent === 0 ? null : `add rule inet cwfault loss iifname "eth0" numgen random mod 100 < ${percent} drop`;
}

/** Network namespaces named with LAB_PREFIX, the bridge and veths: kills what runs in them and deletes them. */
export function cleanStale(prefix = LAB_PREFIX): void {
  let names: string[] = [];
  try {
    names = run('ip', ['netns', 'list'])
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n.startsWith(`${prefix}-h`));
  } catch {
    // no netns support: nothing to clean
  }
  for (const ns of names) {
    try {
      for (const pid of run('ip', ['netns', 'pids', ns]).split('\n').filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
    } catch {
      // namespace vanished
    }
    tryRun('ip', ['netns', 'del', ns]);
  }
  tryRun('ip', ['link', 'del', `${prefix}-br`]);
}

export class NetLab {
  private isUp = false;

  constructor(
    readonly hosts: number,
    readonly prefix = LAB_PREFIX,
  ) {
    if (!Number.isInteger(hosts) || hosts < 1 || hosts > 200) throw new RangeError(`hosts ${hosts}`);
  }

  /** The address of the observer (the root namespace, on the bridge). */
  get observer(): string {
    return OBSERVER;
  }

  namespace(host: number): string {
    this.check(host);
    return `${this.prefix}-h${host}`;
  }

  address(host: number): string {
    this.check(host);
    return `${SUBNET}.${host}`;
  }

  up(): void {
    cleanStale(this.prefix);
    const br = `${this.prefix}-br`;
    run('ip', ['link', 'add', br, 'type', 'bridge']);
    this.isUp = true;
    run('ip', ['addr', 'add', `${OBSERVER}/24`, 'dev', br]);
    run('ip', ['link', 'set', br, 'up']);
    for (let h = 1; h <= this.hosts; h++) {
      const ns = this.namespace(h);
      const veth = `${this.prefix}-v${h}`;
      run('ip', ['netns', 'add', ns]);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run('ip', ['link', 'set', veth, 'master', br, 'up']);
      run('ip', ['-n', ns, 'addr', 'add', `${this.address(h)}/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], hostRuleset());
    }
  }

  /** The command line that runs `argv` inside a host. */
  command(host: number, argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.namespace(host), ...argv];
  }

  /** Drops `percent` % of the packets arriving at each of `hosts` (0 removes the loss). */
  loss(hosts: readonly number[], percent: number): void {
    const rule = lossRule(percent);
    for (const h of hosts) {
      this.nft(h, 'flush chain inet cwfault loss');
      if (rule !== null) this.nft(h, rule);
    }
  }

  /** Cuts every path between the two groups, both ways. */
  partition(a: readonly number[], b: readonly number[]): void {
    const block = (receivers: readonly number[], senders: readonly number[]): void => {
      for (const r of receivers) {
        const others = senders.filter((s) => s !== r).map((s) => this.address(s));
        if (others.length > 0) this.nft(r, `add element inet cwfault blocked { ${others.join(', ')} }`);
      }
    };
    block(a, b);
    block(b, a);
  }

  /** Removes every fault on every host. */
  heal(): void {
    for (let h = 1; h <= this.hosts; h++) {
      this.nft(h, 'flush set inet cwfault blocked');
      this.nft(h, 'flush chain inet cwfault loss');
    }
  }

  /** A host's fault table as nft prints it. */
  faults(host: number): string {
    return run('ip', ['netns', 'exec', this.namespace(host), 'nft', 'list', 'table', 'inet', 'cwfault']);
  }

  /** Kills whatever runs in the hosts and removes the namespaces and the bridge. Safe to repeat. */
  down(): void {
    if (!this.isUp) return;
    this.isUp = false;
    cleanStale(this.prefix);
  }

  private nft(host: number, command: string): void {
    run('ip', ['netns', 'exec', this.namespace(host), 'nft', command]);
  }

  private check(host: number): void {
    if (!Number.isInteger(host) || host < 1 || host > this.hosts) throw new RangeError(`no host ${host} (1..${this.hosts})`);
  }
}
