// What a GRPO run starts from, shared by the single-process loop (run-grpo.ts) and the distributed entrypoint
// (I/O: reads the prompts and checkpoint files): the tokenizer (the resumed or initial checkpoint's, else bytes),
// the prompts encoded and checked against the context, and the frozen reference policy — the weights the job
// started from (MOE_INIT_URI's checkpoint, else the seed's initialisation), rebuilt the same way on every restart.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { StartSpec } from '../checkpoint/resume.js';
import { stepsAt } from '../checkpoint/checkpoint-dirs.js';
import { byteTokenizer, tokenizerFromJSON, withChatTokens, type Tokenizer } from '../data/tokenizer.js';
import { modelConfig } from '../model/config.js';
import type { Params } from '../model/params.js';
import { initWeights } from '../train/start.js';
import type { TrainOptions } from '../train/options.js';
import { Trainer } from '../train/trainer.js';
import { promptSampler, type GrpoData } from './grpo.js';
import { encodePrompts, readPrompts } from './prompts.js';
import type { GrpoSettings } from './settings.js';

/** tokenizer.json of the newest step under `p` (a run folder or a step folder), if it has one. */
export function checkpointTokenizer(p: string): Tokenizer | undefined {
  for (const s of stepsAt(p)) {
    const f = path.join(s.dir, 'tokenizer.json');
    if (existsSync(f)) return tokenizerFromJSON(JSON.parse(readFileSync(f, 'utf8')));
  }
  return undefined;
}

/**
 * The run's tokenizer: the resumed run's, else the initial checkpoint's, else the byte tokenizer; with the chat
 * template's special tokens when the vocabulary has room, as SFT gives them (distributed checkpoints carry no
 * tokenizer.json, so a job started from a distributed SFT job must add them the same way to read its template and stop
 * at its end-of-sentence token).
 */
export function grpoTokenizer(spec: StartSpec, opts: Pick<TrainOptions, 'preset' | 'overrides'>): Tokenizer {
  const base = (spec.resume && checkpointTokenizer(spec.resume.path)) || (spec.init && checkpointTokenizer(spec.init.path)) || byteTokenizer;
  return withChatTokens(base, modelConfig(opts.preset, opts.overrides).vocab_size);
}

export function loadPromptData(file: string, tokenizer: Tokenizer, opts: TrainOptions, s: GrpoSettings): GrpoData {
  const records = readPrompts(file);
  return { file, records, ids: encodePrompts(records, tokenizer, opts.seqLen, s.maxNewTokens, file) };
}

/** A trainer over the prompts' indices (the data position checkpoints carry). */
export function grpoTrainer(opts: TrainOptions, tokenizer: Tokenizer, data: GrpoData, build?: ConstructorParameters<typeof Trainer>[4]): Trainer {
  return new Trainer(opts, tokenizer, promptSampler(data.ids.length, opts.seed), undefined, build);
}

/** The frozen reference policy: the starting checkpoint's weights (router biases included), or the seed's. */
export function referencePolicy(opts: TrainOptions, tokenizer: Tokenizer, data: GrpoData, spec: StartSpec, warn: (m: string) => void): Params {
  const ref = grpoTrainer(opts, tokenizer, data);
  if (spec.init) initWeights(ref, spec.init, warn);
  return ref.params;
}
