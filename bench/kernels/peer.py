"""Benchmark peer for bench/kernels: numpy + ml_dtypes doing the same work, timed here, JSON on stdout.

  python peer.py quant ROWS COLS REPEATS     block-scaled FP8 quantise/dequantise (1x128 and 128x128) + memcpy
  python peer.py gemm M N K REPEATS          float32 matmul A[M,K] @ B[N,K]^T (OpenBLAS), threads from the env
  python peer.py grouped ROWS_CSV N K REPEATS  one float32 matmul per expert, rows per expert given as a CSV list

The caller sets OPENBLAS_NUM_THREADS and removes OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for this process only.
"""
import json
import sys
import time

import ml_dtypes
import numpy as np

TILE = 128
E4M3 = ml_dtypes.float8_e4m3fn


def best(fn, repeats):
    """[best wall s, median wall s, best process CPU s (all threads)]."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(times), float(np.median(times)), min(cpu)


def quant_act(x):
    m, k = x.shape
    kb = -(-k // TILE)
    pad = np.zeros((m, kb * TILE), np.float32)
    pad[:, :k] = x
    t = pad.reshape(m, kb, TILE)
    s = np.maximum(np.abs(t).max(axis=2), np.float32(1e-4)) / np.float32(448.0)
    q = (t / s[:, :, None]).astype(E4M3)
    return q.reshape(m, kb * TILE)[:, :k], s


def dequant_act(q, s):
    m, k = q.shape
    kb = s.shape[1]
    pad = np.zeros((m, kb * TILE), E4M3)
    pad[:, :k] = q
    return (pad.reshape(m, kb, TILE).astype(np.float32) * s[:, :, None]).reshape(m, kb * TILE)[:, :k]


def quant_weight(w):
    n, k = w.shape
    nb, kb = -(-n // TILE), -(-k // TILE)
    pad = np.zeros((nb * TILE, kb * TILE), np.float32)
    pad[:n, :k] = w
    b = pad.reshape(nb, TILE, kb, TILE)
    s = np.maximum(np.abs(b).max(axis=(1, 3)), np.float32(1e-4)) / np.float32(448.0)
    q = (b / s[:, None, :, None]).astype(E4M3)
    return q.reshape(nb * TILE, kb * TILE)[:n, :k], s


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        return [{k: v for k, v in d.items() if k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
                for d in threadpool_info()]
    except Exception as e:  # threadpoolctl missing: say so instead of guessing
        return [{"error": str(e)}]


def main(argv):
    mode = argv[0]
    rng = np.random.default_rng(0)
    out = {"numpy": np.__version__, "ml_dtypes": ml_dtypes.__version__}
    if mode == "quant":
        rows, cols, reps = int(argv[1]), int(argv[2]), int(argv[3])
        x = rng.standard_normal((rows, cols), dtype=np.float32)
        q, s = quant_act(x)
        q = np.ascontiguousarray(q)
        out["quant_act_s"] = best(lambda: quant_act(x), reps)
        out["dequant_act_s"] = best(lambda: dequant_act(q, s), reps)
        out["quant_weight_s"] = best(lambda: quant_weight(x), reps)
        dst = np.empty_like(x)
        out["memcpy_s"] = best(lambda: np.copyto(dst, x), reps)
    elif mode in ("gemm", "grouped"):
        if mode == "gemm":
            rows = [int(argv[1])]
        else:
            rows = [int(r) for r in argv[1].split(",")]
        n, k, reps = int(argv[2]), int(argv[3]), int(argv[4])
        a = [rng.standard_normal((r, k), dtype=np.float32) for r in rows]
        b = [rng.standard_normal((n, k), dtype=np.float32) for _ in rows]
        out["matmul_s"] = best(lambda: [ai @ bi.T for ai, bi in zip(a, b)], reps)
        out["blas"] = blas_info()
    else:
        raise SystemExit(f"unknown mode {mode}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
