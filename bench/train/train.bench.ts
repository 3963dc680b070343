// Training speed benchmark on the deepseek-v3-tiny preset (speed-rounds.ts): every mode's training tokens/s with a
// per-part breakdown of the step, against transformers' DeepseekV3ForCausalLM on PyTorch (hf_train_peer.py), same
// model shape, batch, sequence length and thread count, in alternating rounds at 1 and 2 kernel threads; FP8/BF16 and
// FP8/transformers ratios. The FP8-vs-BF16 loss comparison is fp8-quality.bench.ts.
// Writes bench/results/train.json.
import { nativeAvailable } from '../../runtime/src/model/precision.js';
import { kernelInfo } from '../../runtime/src/native/index.js';
import { speedRounds } from './speed-rounds.js';
import { writeResult } from '../result-file.js';

// Until the native pool's stale-worker race is fixed (a chunk can be run twice and the caller then waits forever;
// seen once in ~75 training steps on 2 threads), each measurement runs in its own process under a time limit.
const info = nativeAvailable() ? kernelInfo() : { path: 'none (TypeScript emulation)', threads: 1 };
const speed = speedRounds();
const result = {
  preset: 'deepseek-v3-tiny',
  batch: 8,
  seqLen: 64,
  kernels: info,
  speed,
  note: 'tokens/s are medians over steps after the first, then over rounds; the machine is shared, so absolute numbers vary run to run',
};
const file = writeResult('train', result);
console.log(JSON.stringify(result, null, 2));
console.log(`wrote ${file}`);
