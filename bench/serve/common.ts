// What the serving benchmark's processes share: the model, the engine options, the seed.
import { modelConfig } from '../../runtime/src/model/config.js';
import type { EngineOptions } from '../../runtime/src/serve/engine/types.js';
import { nativeAvailable } from '../../runtime/src/train/precision.js';

export const config = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
export const precision: EngineOptions['precision'] = nativeAvailable() ? 'fp8' : 'fp32';
export const engineOpts: EngineOptions = { maxBatch: 8, maxQueue: 256, maxSequenceLength: 1024, precision };
export const SEED = 11;
