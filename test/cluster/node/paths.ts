// Where the real nodes' cached artefacts live: beside the Kubernetes binaries, outside the repo.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheRoot(): string {
  return process.env.MOE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'moe-operator');
}
