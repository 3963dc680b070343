// Worker thread that writes checkpoints (hashing, fsync, rename, pruning) while the trainer keeps computing.
import { parentPort } from 'node:worker_threads';
import { saveCheckpoint, type CkptFile } from './checkpoint-dirs.js';

export interface SaveRequest {
  id: number;
  runDir: string;
  step: number;
  keep: number;
  files: CkptFile[];
}

export type SaveReply = { id: number; dir: string } | { id: number; error: string };

let chain: Promise<unknown> = Promise.resolve();
parentPort?.on('message', (req: SaveRequest) => {
  chain = chain
    .then(() => saveCheckpoint(req.runDir, req.step, req.files, req.keep))
    .then((dir) => parentPort!.postMessage({ id: req.id, dir } satisfies SaveReply))
    .catch((e: Error) => parentPort!.postMessage({ id: req.id, error: e.message } satisfies SaveReply));
});
