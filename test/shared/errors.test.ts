import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { ClusterwireError, ERRORS, ErrorCode, FrameTooLargeError, HandshakeRejectedError } from '../../src/shared/errors.js';
import { WireError } from '../../src/shared/schema/generated/clusterwire/wire/wire-error.js';

describe('error catalogue', () => {
  it('lists every code once', () => {
    const codes = ERRORS.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(codes)).toEqual(new Set(Object.values(ErrorCode)));
  });

  it('documents every code in the README table', () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const { code } of ERRORS) expect(readme).toContain(`| \`${code}\` |`);
  });

  it('gives each error its code, its wire code and the facts to act on', () => {
    const e = new FrameTooLargeError(20, 10);
    expect(e).toBeInstanceOf(ClusterwireError);
    expect(e.code).toBe('ERR_FRAME_TOO_LARGE');
    expect(e.wireCode).toBe(WireError.FrameTooLarge);
    expect([e.length, e.limit]).toEqual([20, 10]);
    expect(e.name).toBe('FrameTooLargeError');
    const h = new HandshakeRejectedError('clock_skew', 'peer clock 90 s ahead', true);
    expect(h.reason).toBe('clock_skew');
    expect(h.wireCode).toBe(WireError.HandshakeRejected);
  });
});
