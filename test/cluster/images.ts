// The project's images for real nodes: `make images` builds them (or reuses its cache) and prints one line
// `IMAGE <name> <archive> <digest>` per image; the cluster loads the archives into each node's containerd.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './binaries.js';

export interface BuiltImage { name: string; archive: string; digest: string }

let cached: BuiltImage[] | undefined;

/** Builds or reuses the operator and runtime images. Slow the first time (bases from Debian, npm ci, native build). */
export function projectImages(): BuiltImage[] {
  if (cached) return cached;
  let out: string;
  try {
    out = execFileSync('bash', [join(repoRoot(), 'scripts', 'images', 'build.sh')], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, timeout: 3_600_000,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the images failed (run \`make images\` to see why): ${(e.stderr ?? e.message).trim().split('\n').slice(-15).join('\n')}`);
  }
  cached = out.split('\n').filter((l) => l.startsWith('IMAGE ')).map((l) => {
    const [, name, archive, digest] = l.trim().split(/\s+/);
    return { name: name!, archive: archive!, digest: digest! };
  });
  if (cached.length < 2) throw new Error(`scripts/images/build.sh printed ${cached.length} IMAGE lines, expected the operator and the runtime:\n${out}`);
  return cached;
}

export function image(kind: 'operator' | 'runtime'): BuiltImage {
  const img = projectImages().find((i) => i.name.includes(`/moe-${kind}:`));
  if (!img) throw new Error(`no moe-${kind} image among ${projectImages().map((i) => i.name).join(', ')}`);
  return img;
}
