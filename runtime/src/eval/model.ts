// What scoring needs from a model (pure interface): its tokenizer, the log-probabilities of a token sequence, and
// text completions. Two backends implement it — api-model.ts (a served model through /v1/completions and /tokenize)
// and engine-model.ts (a model folder in-process with the serving engine) — so every task has ONE scoring code path.

export interface CompleteOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  seed: number;
}

export interface EvalModel {
  /** For logs and messages: "api http://…/v1 model tiny" or "model /models/x (in-process)". */
  readonly description: string;
  tokenize(text: string): Promise<number[]>;
  /** Entry i − 1 is log p(ids[i] | ids[0..i)) for i = 1..len−1 (the first token has none), float64 log-softmax. */
  promptLogprobs(ids: number[]): Promise<number[]>;
  /** The completion's text (the prompt not included). */
  complete(prompt: string, o: CompleteOptions): Promise<string>;
  close(): Promise<void>;
}
