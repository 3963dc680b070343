// Named parameters with their gradients. Names are the released checkpoint's (REFERENCE.md §2), so the trainer,
// the checkpoints and the export all speak the same names.
import type { Alloc, Vec } from './tensor.js';

export interface Param {
  name: string;
  shape: number[];
  data: Vec;
  grad: Vec;
  /** Weight decay applies to matrices, not to norms. */
  decay: boolean;
}

export class Params {
  readonly map = new Map<string, Param>();
  /** Non-trained state: the routers' e_score_correction_bias (float32 in the recipe). */
  readonly buffers = new Map<string, Vec>();

  constructor(readonly alloc: Alloc) {}

  add(name: string, shape: number[], decay: boolean): Param {
    if (this.map.has(name)) throw new Error(`parameter ${name} defined twice`);
    const n = shape.reduce((a, b) => a * b, 1);
    const p = { name, shape, data: this.alloc(n), grad: this.alloc(n), decay };
    this.map.set(name, p);
    return p;
  }

  get(name: string): Param {
    const p = this.map.get(name);
    if (!p) throw new Error(`parameter ${name} does not exist`);
    return p;
  }

  buffer(name: string): Vec {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`buffer ${name} does not exist`);
    return b;
  }

  zeroGrad(): void {
    for (const p of this.map.values()) p.grad.fill(0);
  }

  list(): Param[] {
    return [...this.map.values()];
  }
}
