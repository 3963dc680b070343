// The pod sandbox ("pause") image for the real nodes: registry.k8s.io cannot be reached here, so the harness builds
// its own from pause.c (a static binary) with umoci, as an OCI archive cached outside the repo by the source's hash.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../binaries.js';
import { cacheRoot } from './paths.js';
import { sh } from './network.js';

export const PAUSE_IMAGE = 'moe.local/pause:3.10';

/** Path of the pause image's OCI archive, building it when absent. */
export function pauseImage(): string {
  const src = join(repoRoot(), 'test', 'cluster', 'node', 'pause.c');
  const key = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const dir = join(cacheRoot(), 'images');
  const archive = join(dir, `pause-${key}.oci.tar`);
  if (existsSync(archive)) return archive;
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, 'pause-build-'));
  try {
    const tag = PAUSE_IMAGE.split(':')[1]!;
    const layout = join(work, 'layout');
    const bundle = join(work, 'bundle');
    sh('gcc', ['-static', '-Os', '-s', '-o', join(work, 'pause'), src]);
    sh('umoci', ['init', '--layout', layout]);
    sh('umoci', ['new', '--image', `${layout}:${tag}`]);
    sh('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
    sh('cp', [join(work, 'pause'), join(bundle, 'rootfs', 'pause')]);
    sh('umoci', ['repack', '--image', `${layout}:${tag}`, bundle]);
    sh('umoci', ['config', '--image', `${layout}:${tag}`, '--config.entrypoint', '/pause', '--config.user', '65535:65535']);
    sh('umoci', ['gc', '--layout', layout]);
    sh('tar', ['-C', layout, '-cf', `${archive}.tmp`, '.']);
    renameSync(`${archive}.tmp`, archive);
    return archive;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
