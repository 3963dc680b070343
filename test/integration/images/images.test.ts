// The images `make images` builds (scripts/images/build.sh; cached, so this rebuilds nothing when the tree is
// unchanged): what the archive says (name, user, labels, entrypoint) and what the unpacked root file system does when
// run as the image's user (chroot, the same files a kubelet's runc would see).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { image, type BuiltImage } from '../../cluster/images.js';
import { repoRoot } from '../../cluster/binaries.js';
import { need } from '../../util/need.js';

interface ImageConfig {
  config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; Labels?: Record<string, string> };
}

const version = (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
const tools = ['skopeo', 'umoci', 'buildah', 'chroot'].filter((t) => {
  try { execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore', env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }); return false; } catch { return true; }
});
const ok = need(process.getuid?.() === 0, 'root', 'buildah chroot builds and unpacking images need root (sudo)') &&
  need(tools.length === 0, `${tools.join(', ')}`, 'apt-get install buildah skopeo umoci (scripts/images/lib.sh installs them when it may)');

const sh = (cmd: string, args: string[], timeout = 120_000) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout, maxBuffer: 64 << 20 });

function inspectConfig(img: BuiltImage): ImageConfig {
  return JSON.parse(sh('skopeo', ['inspect', '--config', `oci-archive:${img.archive}`])) as ImageConfig;
}

/** Unpacks an archive's image into DIR/rootfs (umoci applies the layers and their whiteouts in order). */
function unpack(img: BuiltImage, dir: string): string {
  mkdirSync(dir, { recursive: true });
  sh('skopeo', ['copy', '--quiet', `oci-archive:${img.archive}`, `oci:${dir}/oci:img`], 600_000);
  sh('umoci', ['unpack', '--image', `${dir}/oci:img`, `${dir}/bundle`], 600_000);
  return join(dir, 'bundle', 'rootfs');
}

/** Runs ARGV in ROOTFS as the image's user, with a clean environment (the image's PATH, nothing of the host's);
 * returns stdout and stderr together, and throws with them on a non-zero exit. */
function runIn(rootfs: string, cfg: ImageConfig, argv: string[], timeout = 60_000): string {
  const user = cfg.config.User ?? '0:0';
  const script = `cd '${cfg.config.WorkingDir ?? '/'}' && exec "$@"`;
  const r = spawnSync('/usr/sbin/chroot', [`--userspec=${user}`, rootfs, '/bin/sh', '-c', script, 'sh', ...argv], {
    encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', NODE_ENV: 'production' },
  });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal} in the image:\n${out}`);
  return out;
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

if (ok) {
  for (const kind of ['operator', 'runtime'] as const) {
    describe(`the ${kind} image`, () => {
      let img: BuiltImage;
      let cfg: ImageConfig;
      before(() => {
        img = image(kind);
        cfg = inspectConfig(img);
      });

      test('the archive names the image in full, so `ctr images import` stores it under that name', () => {
        assert.equal(img.name, `ghcr.io/moe-operator/moe-${kind}:${version}`);
        const index = JSON.parse(sh('tar', ['-xOf', img.archive, 'index.json'])) as {
          manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
        };
        assert.equal(index.manifests.length, 1);
        assert.equal(index.manifests[0]!.annotations?.['org.opencontainers.image.ref.name'], img.name);
        assert.equal(index.manifests[0]!.digest, img.digest);
      });

      test('runs as a non-root numeric user and has an entrypoint', () => {
        assert.match(cfg.config.User ?? '', /^[1-9][0-9]*:[1-9][0-9]*$/, `User is ${cfg.config.User}`);
        assert.ok((cfg.config.Entrypoint ?? []).length > 0, 'no Entrypoint');
        assert.equal(cfg.config.WorkingDir, '/app');
      });

      test('carries the version, source revision, source and created labels', () => {
        const l = cfg.config.Labels ?? {};
        assert.equal(l['org.opencontainers.image.version'], version);
        assert.match(l['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}(-dirty)?$/);
        assert.match(l['org.opencontainers.image.source'] ?? '', /^https:\/\//);
        assert.match(l['org.opencontainers.image.created'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      });
    });
  }

  describe('the unpacked images, run as their user', () => {
    let dir: string;
    let runtime: { rootfs: string; cfg: ImageConfig };
    let operator: { rootfs: string; cfg: ImageConfig };
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'moe-images-test-'));
      runtime = { rootfs: unpack(image('runtime'), join(dir, 'runtime')), cfg: inspectConfig(image('runtime')) };
      operator = { rootfs: unpack(image('operator'), join(dir, 'operator')), cfg: inspectConfig(image('operator')) };
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('runtime: no compiler anywhere in its layers', () => {
      const compiler = /^(gcc|g\+\+|cc|c\+\+|cpp|cc1|cc1plus|clang|clang\+\+|as|ld|ld\.bfd|make)(-\d+)?$|^x86_64-linux-gnu-(gcc|g\+\+|cpp|as|ld)(-\d+)?$/;
      const found = [...walk(runtime.rootfs)].map((p) => relative(runtime.rootfs, p)).filter((p) => compiler.test(p.split('/').pop()!));
      assert.deepEqual(found, []);
    });

    test('runtime: the entrypoint runs, and moe-runtime is on PATH', () => {
      const { rootfs, cfg } = runtime;
      assert.match(runIn(rootfs, cfg, [...(cfg.config.Entrypoint ?? []), ...(cfg.config.Cmd ?? [])]), /^usage: moe-runtime <command>/);
      assert.ok(runIn(rootfs, cfg, ['moe-runtime', 'corpus', '--bytes', '64']).length >= 64);
    });

    test('runtime: both native addons load and two Gloo ranks allreduce over loopback', () => {
      writeFileSync(join(runtime.rootfs, 'tmp', 'smoke.mjs'), `
        const { kernelInfo } = await import('/app/dist/runtime/src/native/index.js');
        const { StoreServer } = await import('/app/dist/runtime/src/comm/rendezvous-server.js');
        const { ProcessGroup } = await import('/app/dist/runtime/src/comm/process-group.js');
        const store = await StoreServer.start({ host: '127.0.0.1', port: 0, worldSize: 2, stallMs: 60000 });
        const spec = { name: 'smoke', ranks: [0, 1] };
        const groups = await Promise.all([0, 1].map((r) => ProcessGroup.connect({ spec, globalRank: r,
          storeHost: '127.0.0.1', storePort: store.port, hostAddr: '127.0.0.1', timeoutMs: 20000 })));
        const bufs = [new Float32Array([1, 2]), new Float32Array([10, 20])];
        await Promise.all(groups.map((g, i) => g.allreduce(bufs[i])));
        console.log(JSON.stringify({ kernels: kernelInfo().path, sums: bufs.map((b) => Array.from(b)) }));
        groups.forEach((g) => g.close());
        await store.close();
      `);
      const res = JSON.parse(runIn(runtime.rootfs, runtime.cfg, ['node', '/tmp/smoke.mjs']).trim().split('\n').pop()!) as { kernels: string; sums: number[][] };
      assert.ok(['reference', 'avx2', 'avx512', 'amx'].includes(res.kernels), res.kernels);
      assert.deepEqual(res.sums, [[11, 22], [11, 22]]);
    });

    test('operator: the entrypoint loads the whole operator and opens its probe port', async () => {
      const { rootfs, cfg } = operator;
      // An API server that is not there: the operator starts, opens its probe port, then retries its watches.
      writeFileSync(join(rootfs, 'tmp', 'kubeconfig'), [
        'apiVersion: v1', 'kind: Config', 'current-context: x',
        'clusters: [{name: x, cluster: {server: "https://127.0.0.1:9"}}]',
        'users: [{name: x, user: {token: t}}]', 'contexts: [{name: x, context: {cluster: x, user: x}}]', ''].join('\n'));
      const argv = [...(cfg.config.Entrypoint ?? []), ...(cfg.config.Cmd ?? [])];
      const child = spawn('/usr/sbin/chroot', [`--userspec=${cfg.config.User}`, rootfs, '/bin/sh', '-c', 'cd /app && exec "$@"', 'sh', ...argv], {
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', KUBECONFIG: '/tmp/kubeconfig', METRICS_ADDR: '127.0.0.1:0', LEADER_ELECT: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const exited = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`operator exited ${code}:\n${out}`))));
      const listening = new Promise<void>((resolve) => {
        const onData = (d: Buffer) => { out += String(d); if (out.includes('probe server listening')) resolve(); };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no "probe server listening" within 30 s:\n${out}`)), 30_000);
      });
      try {
        await Promise.race([listening, exited, timeout]);
      } finally {
        clearTimeout(timer);
        exited.catch(() => {});
        child.kill('SIGKILL');
      }
    });
  });
}
