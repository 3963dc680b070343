// The in-process backend (I/O: loads a model folder): the serving engine itself (../serve/engine), asked exactly what
// the HTTP router asks it — prompt log-probabilities with max_tokens 0 (engine/logprobs.ts), completions with the
// same sampling parameters and no stop tokens — so both backends give the same numbers for the same model.
import { randomUUID } from 'node:crypto';
import { Engine } from '../serve/engine/engine.js';
import type { EngineOptions, GenerateRequest, ServeEngine } from '../serve/engine/types.js';
import { EvalError, ModelUnreachableError } from './errors.js';
import type { CompleteOptions, EvalModel } from './model.js';

export class EngineModel implements EvalModel {
  constructor(private readonly engine: ServeEngine, readonly description: string) {}

  /** Loads an export or run folder; a folder that does not load is the evaluation's "model unreachable". */
  static async load(path: string, opts: Partial<EngineOptions> = {}): Promise<EngineModel> {
    try {
      const e = await Engine.load(path, { maxBatch: 16, maxQueue: 1 << 20, ...opts });
      return new EngineModel(e, `model ${path} (in-process, ${e.model.precision})`);
    } catch (e) {
      throw new ModelUnreachableError(`cannot load the model folder ${path}: ${(e as Error).message}`);
    }
  }

  tokenize(text: string): Promise<number[]> {
    return Promise.resolve(Array.from(this.engine.tokenizer.encode(text)));
  }

  private async run(req: GenerateRequest, onToken: (t: number) => void, onPrompt?: (lps: { logprob: number }[]) => void): Promise<void> {
    try {
      await this.engine.generate(req, onToken, undefined, onPrompt);
    } catch (e) {
      throw new EvalError(`${this.description}: ${(e as Error).message}`);
    }
  }

  async promptLogprobs(ids: number[]): Promise<number[]> {
    let out: number[] | undefined;
    await this.run({
      id: randomUUID(), promptIds: Int32Array.from(ids), logprobs: { topK: 0, prompt: true },
      params: { maxTokens: 0, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] },
    }, () => {}, (lps) => { out = lps.map((l) => l.logprob); });
    if (!out || out.length !== ids.length - 1) throw new EvalError(`${this.description}: expected ${ids.length - 1} prompt log-probabilities, got ${out?.length ?? 'none'}`);
    return out;
  }

  async complete(prompt: string, o: CompleteOptions): Promise<string> {
    const ids: number[] = [];
    await this.run({
      id: randomUUID(), promptIds: this.engine.tokenizer.encode(prompt),
      params: { maxTokens: o.maxTokens, temperature: o.temperature, topP: 1, seed: o.seed, stopTokenIds: [] },
    }, (t) => ids.push(t));
    return this.engine.tokenizer.decode(ids);
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
