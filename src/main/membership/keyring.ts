// The keys membership traffic is sealed with (AES-256-GCM). One key is
// primary: everything is sent with it. Received packets are opened with the
// primary first, then with every other installed key, so keys rotate without
// downtime: install the new key everywhere, make it primary everywhere,
// remove the old one everywhere.
import { InvalidConfigError } from '../../shared/errors.js';
import { copyBytes } from '../../shared/bytes.js';

export const KEY_BYTES = 32;

export class Keyring {
  private list: Uint8Array[] = [];

  /** @param keys 32-byte keys; the first is primary. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new InvalidConfigError('keyring', 'expected at least one key');
    for (const k of keys) this.install(k);
  }

  /** The key packets are sealed with. */
  get primary(): Uint8Array {
    return this.list[0];
  }

  /** Every installed key, primary first. */
  get keys(): readonly Uint8Array[] {
    return this.list;
  }

  /** Adds a key that received packets may be sealed with. */
  install(key: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) throw new InvalidConfigError('keyring', `keys are ${KEY_BYTES} bytes`);
    if (this.indexOf(key) < 0) this.list.push(copyBytes(key));
  }

  /** Makes an installed key the primary. */
  use(key: Uint8Array): void {
    const i = this.indexOf(key);
    if (i < 0) throw new InvalidConfigError('keyring', 'the key to use is not installed');
    const [k] = this.list.splice(i, 1);
    this.list.unshift(k);
  }

  /** Removes a key; the primary cannot be removed. */
  remove(key: Uint8Array): void {
    const i = this.indexOf(key);
    if (i === 0) throw new InvalidConfigError('keyring', 'the primary key cannot be removed; use another key first');
    if (i > 0) this.list.splice(i, 1);
  }

  private indexOf(key: Uint8Array): number {
    return this.list.findIndex((k) => k.length === key.length && k.every((b, i) => b === key[i]));
  }
}
