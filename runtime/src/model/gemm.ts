// How a linear layer's three GEMMs run. The layer code calls these; the precision mode picks the implementation
// (float64/float32 TypeScript reference, FP8 with fine-grained scales, BF16). Row-major, W is [out, in] as in the
// released checkpoints.
import { matmulN, matmulT, matmulTN, type Alloc, type Vec } from './tensor.js';

export interface Gemm {
  readonly name: string;
  /** y[T,out] = x[T,in] · W[out,in]ᵀ */
  forward(x: Vec, W: Vec, T: number, inF: number, outF: number, alloc: Alloc): Vec;
  /** dx[T,in] += dy[T,out] · W */
  dgrad(dy: Vec, W: Vec, T: number, outF: number, inF: number, dx: Vec): void;
  /** dW[out,in] += dy[T,out]ᵀ · x[T,in] */
  wgrad(dy: Vec, x: Vec, T: number, outF: number, inF: number, dW: Vec): void;
  /** dgrad and wgrad of one dy in one call, where a mode has it (linear() uses it then). */
  backward?(dy: Vec, x: Vec, W: Vec, T: number, outF: number, inF: number, dx: Vec, dW: Vec): void;
}

/** Plain loops in the arrays' own precision: the reference the gradient checks run on. */
export const refGemm: Gemm = {
  name: 'reference',
  forward(x, W, T, inF, outF, alloc) {
    const y = alloc(T * outF);
    matmulT(x, W, T, inF, outF, y);
    return y;
  },
  dgrad: (dy, W, T, outF, inF, dx) => matmulN(dy, W, T, outF, inF, dx),
  wgrad: (dy, x, T, outF, inF, dW) => matmulTN(dy, x, T, outF, inF, dW),
};

/** What every layer needs besides its parameters. */
export interface Ctx {
  alloc: Alloc;
  /** Linear layers of attention and FFNs (FP8 in the recipe). */
  linear: Gemm;
  /** Output head and MTP projection (BF16/FP32 in the recipe). */
  head: Gemm;
  /** Float32 ops around the GEMMs (norms, SwiGLU, attention core, loss, router) on the native kernels (fp8/bf16). */
  native?: boolean;
}
