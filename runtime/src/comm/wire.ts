// Float32 tensors on the wire in BF16 (pipeline activations and gradients, the backward expert all-to-all) or as
// they are. BF16 keeps float32's exponent range, so gradients need no scaling; round-to-nearest-even.
import { bf16ToF32, f32ToBf16 } from '../native/codec.js';

export type WireFormat = 'bf16' | 'fp32';

export function encodeWire(x: Float32Array, w: WireFormat): Float32Array | Uint16Array {
  return w === 'bf16' ? f32ToBf16(x) : x;
}

export function decodeWire(x: Float32Array | Uint16Array): Float32Array {
  return x instanceof Uint16Array ? bf16ToF32(x) : x;
}

/** A receive buffer for n values in format w. */
export function wireBuffer(n: number, w: WireFormat): Float32Array | Uint16Array {
  return w === 'bf16' ? new Uint16Array(n) : new Float32Array(n);
}

/** The wire format of a precision mode: fp32 runs stay exact, the low-precision recipes send BF16. */
export function wireOf(precision: string): WireFormat {
  return precision === 'fp32' ? 'fp32' : 'bf16';
}
