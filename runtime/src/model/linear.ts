// A bias-free linear layer y = x·Wᵀ over the context's GEMM.
import type { Gemm } from './gemm.js';
import type { Param } from './params.js';
import type { Alloc, Vec } from './tensor.js';
import type { Fwd } from './norm.js';

export function linear(gemm: Gemm, p: Param, x: Vec, T: number, alloc: Alloc): Fwd {
  const [outF, inF] = p.shape;
  const y = gemm.forward(x, p.data, T, inF, outF, alloc);
  return {
    y,
    back(dy) {
      const dx = alloc(T * inF);
      if (gemm.backward) {
        gemm.backward(dy, x, p.data, T, outF, inF, dx, p.grad);
        return dx;
      }
      gemm.wgrad(dy, x, T, outF, inF, p.grad);
      gemm.dgrad(dy, p.data, T, outF, inF, dx);
      return dx;
    },
  };
}
