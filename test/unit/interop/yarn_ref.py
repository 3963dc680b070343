"""YaRN frequencies and softmax scale written from DeepSeek-V3's inference/model.py formulas (precompute_freqs_cis,
MLA.softmax_scale) in numpy, independent of the TypeScript, for yarn.test.ts.

  yarn_ref.py DR THETA FACTOR ORIGINAL BETA_FAST BETA_SLOW MSCALE  →  {"inv": [...], "softmax_factor": x}
"""
import json
import math
import sys

import numpy as np

dim, base, factor, original, beta_fast, beta_slow, mscale = (
    int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]))


def correction_dim(rotations):
    return dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(base))


low = max(math.floor(correction_dim(beta_fast)), 0)
high = min(math.ceil(correction_dim(beta_slow)), dim - 1)
if low == high:
    high += 0.001
freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
smooth = 1 - ramp
freqs = freqs / factor * (1 - smooth) + freqs * smooth
m = 0.1 * mscale * math.log(factor) + 1.0
print(json.dumps({"inv": freqs.tolist(), "softmax_factor": m * m}))
