// Connection options: defaults, and each bad value refused with
// ERR_INVALID_CONFIG naming its field.
import { describe, expect, it } from 'vitest';
import { CONNECTION_DEFAULTS, resolveConnectionOptions, type ConnectionOptionsInput } from '../../src/main/transport/connection-options.js';
import { InvalidConfigError } from '../../src/shared/errors.js';

function refused(input: ConnectionOptionsInput): string {
  try {
    resolveConnectionOptions(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return (error as InvalidConfigError).field;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('resolveConnectionOptions', () => {
  it('fills in the defaults', () => {
    const o = resolveConnectionOptions();
    expect(o).toEqual(CONNECTION_DEFAULTS);
    expect(o.pacingWindowBytes).toBe(1024 * 1024);
    expect(o.pacingIdleMs).toBe(10_000);
    expect(resolveConnectionOptions({ pacingIdleMs: 0, pacingWindowBytes: 0 })).toMatchObject({ pacingIdleMs: 0, pacingWindowBytes: 0 });
  });

  it('refuses a bad value, naming the field', () => {
    expect(refused({ pacingIdleMs: -1 })).toBe('pacingIdleMs');
    expect(refused({ pacingIdleMs: 1.5 })).toBe('pacingIdleMs');
    expect(refused({ pacingIdleMs: Infinity })).toBe('pacingIdleMs');
    expect(refused({ pacingWindowBytes: 65_536 })).toBe('pacingWindowBytes'); // below 2 * chunkBytes
    expect(refused({ chunkBytes: 100 })).toBe('chunkBytes');
    expect(refused({ chunkBytes: 1 << 20, maxFrameBytes: 1 << 20, pacingWindowBytes: 0 })).toBe('chunkBytes'); // no room for the Chunk envelope
    expect(refused({ maxMessageBytes: 1000 })).toBe('maxMessageBytes');
    expect(refused({ highWaterMarkBytes: 0 })).toBe('highWaterMarkBytes');
    expect(refused({ checksumRunBytes: -5 })).toBe('checksumRunBytes');
  });
});
