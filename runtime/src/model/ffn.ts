// SwiGLU feed-forward: y = down(silu(gate(x)) ⊙ up(x)). Dense layers, routed experts and the shared expert all use it.
// The activation is recomputed in backward from the cached gate/up outputs (the recipe recomputes SwiGLU).
import type { Ctx } from './gemm.js';
import { linear } from './linear.js';
import type { Fwd } from './norm.js';
import type { Params } from './params.js';
import { addInto, sigmoid, type Vec } from './tensor.js';
import { enter, leave } from './profile.js';
import { swigluBackward, swigluForward } from '../native/train-ops.js';

export function addFfnParams(P: Params, prefix: string, d: number, inner: number): void {
  P.add(`${prefix}.gate_proj.weight`, [inner, d], true);
  P.add(`${prefix}.up_proj.weight`, [inner, d], true);
  P.add(`${prefix}.down_proj.weight`, [d, inner], true);
}

export function ffn(ctx: Ctx, P: Params, prefix: string, x: Vec, T: number): Fwd {
  const gp = linear(ctx.linear, P.get(`${prefix}.gate_proj.weight`), x, T, ctx.alloc);
  const up = linear(ctx.linear, P.get(`${prefix}.up_proj.weight`), x, T, ctx.alloc);
  const g = gp.y;
  const u = up.y;
  enter('ops');
  const nat = ctx.native === true && g instanceof Float32Array && u instanceof Float32Array;
  const a = nat ? swigluForward(g, u) : ctx.alloc(g.length);
  if (!nat) for (let i = 0; i < g.length; i++) a[i] = g[i] * sigmoid(g[i]) * u[i];
  leave();
  const down = linear(ctx.linear, P.get(`${prefix}.down_proj.weight`), a, T, ctx.alloc);
  return {
    y: down.y,
    back(dy) {
      const da = down.back(dy);
      enter('ops');
      const ng = nat ? swigluBackward(g as Float32Array, u as Float32Array, da as Float32Array) : undefined;
      const dg = ng ? ng.dg : ctx.alloc(g.length);
      const du = ng ? ng.du : ctx.alloc(g.length);
      for (let i = 0; i < (ng ? 0 : g.length); i++) {
        const s = sigmoid(g[i]);
        du[i] = da[i] * g[i] * s;
        dg[i] = da[i] * u[i] * s * (1 + g[i] * (1 - s));
      }
      leave();
      const dx = gp.back(dg);
      const dxu = up.back(du);
      enter('ops');
      addInto(dx, dxu, nat);
      leave();
      return dx;
    },
  };
}
