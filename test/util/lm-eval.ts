// lm-evaluation-harness from PyPI as a user runs it (its CLI), for the tests that check our API and our scorer
// against it: offline (no dataset or hub downloads), without blocking the event loop the servers under test run on.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** `python -m lm_eval ARGS` with HF_HOME under `workDir`; its exit code and output. */
export function runLmEval(py: string, workDir: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1', HF_HOME: join(workDir, 'hf'), TOKENIZERS_PARALLELISM: 'false', OPENAI_API_KEY: 'unused' };
    const p = spawn(py, ['-m', 'lm_eval', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Every file under `d` whose name starts with `prefix` (lm_eval writes results_<time>.json and samples_<task>_*.jsonl). */
export function filesUnder(d: string, prefix: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const f = join(d, n);
    return statSync(f).isDirectory() ? filesUnder(f, prefix) : n.startsWith(prefix) ? [f] : [];
  });
}
