"""Independent FP8 oracle for the native tests: ml_dtypes conversions and the block-scaled recipe in numpy.

Usage: python fp8_oracle.py MODE ARGS...  (arrays travel as raw little-endian files)
  encode SRC(f32|bf16) FMT(e4m3|e5m2) SAT(0|1) IN OUT   -> uint8 codes; SAT clips to +-max first
  decode FMT DST(f32|bf16) IN OUT                       -> float32 values or bfloat16 bits
  quant_act ROWS COLS POW2 IN OUT_Q OUT_SCALES          -> 1x128 tiles
  quant_weight ROWS COLS POW2 IN OUT_Q OUT_SCALE_INV    -> 128x128 blocks
"""
import sys

import ml_dtypes
import numpy as np

FMT = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2}
TILE = 128


def encode(src, fmt, sat, inp, out):
    if src == "f32":
        x = np.fromfile(inp, dtype=np.float32)
    else:
        x = np.fromfile(inp, dtype=np.uint16).view(ml_dtypes.bfloat16)
    t = FMT[fmt]
    if sat == "1":
        m = float(ml_dtypes.finfo(t).max)
        x = np.clip(x.astype(np.float32), -m, m).astype(x.dtype)  # clip keeps NaN
    x.astype(t).view(np.uint8).tofile(out)


def decode(fmt, dst, inp, out):
    c = np.fromfile(inp, dtype=np.uint8).view(FMT[fmt])
    if dst == "f32":
        c.astype(np.float32).tofile(out)
    else:
        c.astype(ml_dtypes.bfloat16).view(np.uint16).tofile(out)


def scale_of(amax, pow2):
    s = np.maximum(amax, np.float32(1e-4)) / np.float32(448.0)
    if pow2:
        m, e = np.frexp(s)
        s = np.ldexp(np.float32(1.0), np.where(m == 0.5, e - 1, e)).astype(np.float32)
    return s.astype(np.float32)


def quant_blocks(x, rows_per_block, pow2):
    """Quantise x [R, C] by blocks of rows_per_block x 128 (zero padded)."""
    R, C = x.shape
    RB, CB = -(-R // rows_per_block), -(-C // TILE)
    pad = np.zeros((RB * rows_per_block, CB * TILE), np.float32)
    pad[:R, :C] = x
    blocks = pad.reshape(RB, rows_per_block, CB, TILE)
    s = scale_of(np.abs(blocks).max(axis=(1, 3)), pow2)  # [RB, CB]
    q = (blocks / s[:, None, :, None]).astype(ml_dtypes.float8_e4m3fn)
    return q.reshape(RB * rows_per_block, CB * TILE)[:R, :C], s


def main(argv):
    mode = argv[0]
    if mode == "encode":
        encode(*argv[1:])
    elif mode == "decode":
        decode(*argv[1:])
    elif mode in ("quant_act", "quant_weight"):
        rows, cols, pow2 = int(argv[1]), int(argv[2]), argv[3] == "1"
        x = np.fromfile(argv[4], dtype=np.float32).reshape(rows, cols)
        if mode == "quant_act":
            q, s = quant_blocks(x, 1, pow2)
        else:
            q, s = quant_blocks(x, TILE, pow2)
        np.ascontiguousarray(q).view(np.uint8).tofile(argv[5])
        s.astype(np.float32).tofile(argv[6])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
