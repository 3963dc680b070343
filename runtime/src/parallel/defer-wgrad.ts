// Zero-bubble W (pure): a Gemm wrapper that, while a deferring backward runs, queues the weight-gradient products
// (dW += dyᵀ·x, the bulk of a backward's weight-gradient work) instead of computing them; the schedule's W op runs
// the oldest queue (FIFO). The input gradients (dgrad) and the small weight gradients computed outside the Gemm
// (norms, embedding, router gate) stay in B. Every parameter gets its Gemm contributions in the same order as
// without deferral (the queues run in backward order), so the sums are bit-identical. dy and x are copied when
// queued: the layer code may reuse its buffers after a backward.
import type { Ctx, Gemm } from '../model/gemm.js';
import type { Vec } from '../model/tensor.js';

export class WgradDeferral {
  private current: Array<() => void> | undefined;
  private readonly fifo: Array<{ label: string; work: Array<() => void> }> = [];

  /** `ctx` with its GEMMs wrapped (forward and dgrad unchanged). */
  wrap(ctx: Ctx): Ctx {
    const cache = new Map<Gemm, Gemm>();
    const w = (g: Gemm): Gemm => {
      let out = cache.get(g);
      if (!out) cache.set(g, (out = this.gemm(g)));
      return out;
    };
    return { ...ctx, linear: w(ctx.linear), head: w(ctx.head) };
  }

  private gemm(inner: Gemm): Gemm {
    return {
      name: inner.name,
      forward: (x, W, T, inF, outF, alloc) => inner.forward(x, W, T, inF, outF, alloc),
      dgrad: (dy, W, T, outF, inF, dx) => inner.dgrad(dy, W, T, outF, inF, dx),
      wgrad: (dy: Vec, x: Vec, T: number, outF: number, inF: number, dW: Vec) => {
        if (!this.current) return inner.wgrad(dy, x, T, outF, inF, dW);
        const dyc = dy.slice(), xc = x.slice();
        this.current.push(() => inner.wgrad(dyc, xc, T, outF, inF, dW));
      },
    };
  }

  /** Runs `backward` with its weight-gradient GEMMs queued under `label`. Not re-entrant: one deferring B at a time. */
  async defer<T>(label: string, backward: () => Promise<T>): Promise<T> {
    if (this.current) throw new Error(`pipeline: deferring the weight gradients of ${label} while another backward defers`);
    const work: Array<() => void> = [];
    this.current = work;
    try {
      return await backward();
    } finally {
      this.current = undefined;
      this.fifo.push({ label, work });
    }
  }

  /** The schedule's W: the oldest queued weight gradients; returns how many products ran. */
  runOldest(expect: string): number {
    const next = this.fifo.shift();
    if (!next) throw new Error(`pipeline: W of ${expect} with no deferred backward`);
    if (next.label !== expect) throw new Error(`pipeline: W of ${expect} but the oldest deferred backward is ${next.label}`);
    for (const f of next.work) f();
    return next.work.length;
  }

  get pending(): number {
    return this.fifo.length;
  }
}
