// Where the compiled worker lives (this file runs from dist/test/native/parallel/).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function workerScript(name = 'worker.js'): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), name);
}
