// sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state):
// the simulator's only source of randomness. One seed gives the same stream
// on every platform, which is what makes a simulated run replayable bit for bit.
import type { Random } from '../membership/random.js';

export class Sfc32 implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9;
    this.b = seed | 0;
    this.c = (stream ^ 0x6a09e667) | 0;
    this.d = 1;
    for (let i = 0; i < 15; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  nextInt(bound: number): number {
    return Math.floor(this.nextFloat() * bound);
  }

  /** An exponentially distributed value with the given mean. */
  nextExponential(mean: number): number {
    return -mean * Math.log(1 - this.nextFloat());
  }

  /** An independent generator derived from this one (for one node, one link, ...). */
  fork(): Sfc32 {
    return new Sfc32(this.nextU32(), this.nextU32());
  }
}
