// The fault rules the lab installs (the lab itself needs root: npm run test:faults).
import { describe, expect, it } from 'vitest';
import { hostRuleset, lossRule, NetLab } from './netns.js';

describe('fault lab rules', () => {
  it('lets the observer through before the partition set and the loss chain', () => {
    const rules = hostRuleset('10.213.0.254');
    const order = ['iifname "lo" accept', 'ip saddr 10.213.0.254 accept', 'ip saddr @blocked drop', 'jump loss'].map((r) => rules.indexOf(r));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(rules).toMatch(/hook input priority -150; policy accept;/);
  });

  it('drops a share of arriving packets with numgen, none for 0, and refuses a bad share', () => {
    expect(lossRule(10)).toBe('add rule inet cwfault loss iifname "eth0" numgen random mod 100 < 10 drop');
    expect(lossRule(0)).toBeNull();
    expect(() => lossRule(101)).toThrow(RangeError);
    expect(() => lossRule(2.5)).toThrow(RangeError);
  });

  it('names hosts and addresses, refusing hosts outside the lab', () => {
    const lab = new NetLab(3);
    expect(lab.namespace(2)).toBe('cwf-h2');
    expect(lab.address(3)).toBe('10.213.0.3');
    expect(lab.command(1, ['node', 'x.js'])).toEqual(['ip', 'netns', 'exec', 'cwf-h1', 'node', 'x.js']);
    expect(() => lab.address(4)).toThrow(RangeError);
    expect(() => new NetLab(0)).toThrow(RangeError);
  });
});
