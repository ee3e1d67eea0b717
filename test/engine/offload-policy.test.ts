import { describe, expect, it } from 'vitest';
import { DEFAULT_OFFLOAD_MIN_BYTES, OFFLOAD_KINDS, resolveEngineOptions } from '../../src/main/engine/engine-options.js';
import { OffloadPolicy } from '../../src/main/engine/offload-policy.js';
import { InvalidConfigError } from '../../src/shared/errors.js';

describe('offload policy', () => {
  it('runs a batch one byte under the threshold inline and one at it in a worker', () => {
    const options = resolveEngineOptions({ workers: 2, offloadMinBytes: { compress: 4096, sha256: 1 << 20, decode: 0 } });
    const policy = new OffloadPolicy(options);
    expect(policy.place('compress', 4095, 0)).toBe('inline');
    expect(policy.place('compress', 4096, 0)).toBe('worker');
    expect(policy.place('sha256', (1 << 20) - 1, 0)).toBe('inline');
    expect(policy.place('sha256', 1 << 20, 0)).toBe('worker');
    expect(policy.place('decode', 0, 0)).toBe('worker');
  });

  it('keeps a kind with an Infinity threshold inline at any size', () => {
    const policy = new OffloadPolicy(resolveEngineOptions({ workers: 2, offloadMinBytes: { encode: Infinity } }));
    expect(policy.place('encode', 2 ** 40, 0)).toBe('inline');
  });

  it('runs everything inline with no workers', () => {
    const policy = new OffloadPolicy(resolveEngineOptions({ workers: 0, offloadMinBytes: 0 }));
    for (const kind of OFFLOAD_KINDS) {
      expect(policy.place(kind, 1 << 30, 0)).toBe('inline');
      expect(policy.thresholdFor(kind)).toBe(Infinity);
    }
  });

  it('runs inline while the worker queue is full', () => {
    const policy = new OffloadPolicy(resolveEngineOptions({ workers: 1, offloadMinBytes: 0, maxQueuedBatches: 3 }));
    expect(policy.place('compress', 10, 2)).toBe('worker');
    expect(policy.place('compress', 10, 3)).toBe('inline');
  });

  it('weighs encoding with compression on by the compress threshold', () => {
    const off = new OffloadPolicy(resolveEngineOptions({ workers: 1, offloadMinBytes: { encode: 100, compress: 5000 } }));
    const on = new OffloadPolicy(resolveEngineOptions({ workers: 1, offloadMinBytes: { encode: 100, compress: 5000 }, frame: { compression: 'zstd' } }));
    expect(off.place('encode', 200, 0)).toBe('worker');
    expect(on.place('encode', 200, 0)).toBe('inline');
    expect(on.place('encode', 5000, 0)).toBe('worker');
  });
});

describe('engine options', () => {
  it('fills the measured defaults', () => {
    const o = resolveEngineOptions({ workers: 3 });
    expect(o.offloadMinBytes).toEqual(DEFAULT_OFFLOAD_MIN_BYTES);
    expect(o.maxQueuedBatches).toBe(12);
    expect(o.batchMaxMessages).toBe(256);
    expect(o.batchMaxDelayUs).toBe(0);
    expect(o.frame).toEqual({ compression: 'none', compressMinBytes: 512, zstdLevel: 1, checksum: true, maxFrameBytes: 16 * 1024 * 1024 });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('applies one number to every kind', () => {
    const o = resolveEngineOptions({ workers: 1, offloadMinBytes: 777 });
    for (const kind of OFFLOAD_KINDS) expect(o.offloadMinBytes[kind]).toBe(777);
  });

  it.each([
    [{ workers: -1 }, 'workers'],
    [{ workers: 1.5 }, 'workers'],
    [{ workers: 65 }, 'workers'],
    [{ offloadMinBytes: -1 }, 'offloadMinBytes.encode'],
    [{ offloadMinBytes: { sha256: 0.5 } }, 'offloadMinBytes.sha256'],
    [{ offloadMinBytes: { crc: 10 } }, 'offloadMinBytes.crc'],
    [{ batchMaxMessages: 0 }, 'batchMaxMessages'],
    [{ batchMaxDelayUs: -5 }, 'batchMaxDelayUs'],
    [{ maxQueuedBatches: 0 }, 'maxQueuedBatches'],
    [{ frame: { compression: 'gzip' } }, 'frame.compression'],
    [{ frame: { maxFrameBytes: 10 } }, 'frame.maxFrameBytes'],
  ])('refuses %j naming %s', (input, field) => {
    try {
      resolveEngineOptions(input as never);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe(field);
    }
  });
});
