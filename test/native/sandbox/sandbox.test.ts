// The sandbox with real processes: a passing program, a failing assertion, an infinite loop killed at the wall-clock
// timeout (with what it forked), a memory hog refused by the address-space limit, a network connection refused (an empty
// network namespace: this machine runs tests as root, so `unshare --net` must work here and is asserted), the parent's
// environment not leaked, output truncated, and a missing interpreter named. Python is MOE_PYTHON's (or PATH's) python3;
// the python cases fail with a clear message when there is none.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InterpreterMissingError, runSandboxed, sandboxArgv, type SandboxLimits } from '../../../runtime/src/sandbox/sandbox.js';
import { detectIsolation } from '../../../runtime/src/sandbox/isolation.js';

const limits: SandboxLimits = { timeoutMs: 5000, memoryMiB: 256, outputBytes: 4096 };
const pyDir = process.env.MOE_PYTHON ? path.dirname(process.env.MOE_PYTHON) : undefined;
const PATH = `${pyDir ? `${pyDir}:` : ''}${process.env.PATH ?? '/usr/bin:/bin'}`;
const py = (src: string, l: Partial<SandboxLimits> = {}) => runSandboxed('python', src, { ...limits, ...l }, { path: PATH });
const js = (src: string, l: Partial<SandboxLimits> = {}) => runSandboxed('javascript', src, { ...limits, ...l }, { path: PATH });

let server: Server;
let port = 0;
before(async () => {
  // Something that listens on the host's loopback: reachable from here, not from inside the sandbox's namespace.
  server = createServer((s) => { s.on('error', () => {}); s.end('hello\n'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
  if (!PATH.split(':').some((d) => d && existsSync(path.join(d, 'python3')))) {
    throw new Error(`no python3 on PATH (${PATH}) and MOE_PYTHON unset: the python sandbox cases need one (export MOE_PYTHON=.tools/pyenv/bin/python)`);
  }
});
after(() => server.close());

describe('isolation', () => {
  it('as root here, the network namespace and prlimit are applied, and the argv says so', () => {
    const iso = detectIsolation();
    if (process.getuid?.() === 0) assert.equal(iso.network, 'netns', 'root can unshare --net: it must be applied');
    assert.equal(iso.limits, 'prlimit');
    const argv = sandboxArgv(iso, 'python', ['python3', 'main.py'], limits);
    assert.deepEqual(argv.slice(-7), [iso.limitTool, `--as=${256 * 1024 * 1024}`, '--cpu=6', `--fsize=${64 * 1024 * 1024}`, '--', 'python3', 'main.py']);
    // javascript: V8's 2 GiB reservation on top of the heap limit.
    assert.ok(sandboxArgv(iso, 'javascript', ['node', 'main.js'], limits).includes(`--as=${(256 + 2048) * 1024 * 1024}`));
    // Without prlimit: the same limits through the shell's ulimit (KiB, seconds, 512-byte blocks).
    const sh = sandboxArgv({ ...iso, network: 'none', networkPrefix: [], limits: 'ulimit', limitTool: '/bin/sh' }, 'python', ['python3', 'main.py'], limits);
    assert.deepEqual(sh, ['/bin/sh', '-c', `ulimit -v ${256 * 1024} && ulimit -t 6 && ulimit -f ${64 * 2048} && exec "$@"`, 'sh', 'python3', 'main.py']);
  });
});

describe('isolation without root', () => {
  it('as a non-root user (setpriv to nobody), plain unshare --net is refused and the user-namespace form is chosen; it refuses the network too', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to switch to nobody');
    const mod = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/sandbox/isolation.js');
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e',
      `import { detectIsolation } from ${JSON.stringify(mod)}; console.log(JSON.stringify(detectIsolation()));`], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    assert.equal(r.status, 0, r.stderr);
    const iso = JSON.parse(r.stdout) as ReturnType<typeof detectIsolation>;
    // This machine allows unprivileged user namespaces (user.max_user_namespaces > 0, no seccomp filter).
    assert.equal(iso.network, 'userns-netns');
    const src = `const s = require("node:net").connect(${port}, "127.0.0.1");\ns.on("connect", () => { console.log("connected"); s.destroy(); });\ns.on("error", (e) => console.log("refused", e.code));\n`;
    const run = await runSandboxed('javascript', src, limits, { path: PATH, isolation: iso });
    assert.equal(run.isolation, 'network=userns-netns limits=prlimit');
    assert.match(run.stdout, /^refused (ENETUNREACH|ECONNREFUSED)/);
    // And with no namespace at all (MOE_SANDBOX_NETWORK=none), the same program connects, and the run says so.
    const open = await runSandboxed('javascript', src, limits, { path: PATH, isolation: detectIsolation({ ...process.env, MOE_SANDBOX_NETWORK: 'none' }) });
    assert.equal(open.isolation, 'network=none limits=prlimit');
    assert.equal(open.stdout, 'connected\n');
  });
});

describe('python', () => {
  it('a passing program exits 0 with its output, cwd and HOME a fresh temporary directory', async () => {
    const r = await py('import os\nprint("ok", os.getcwd() == os.environ["HOME"], os.listdir("."))\nassert 1 + 1 == 2\n');
    assert.equal(r.status, 'passed', r.stderr);
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, "ok True ['main.py']\n");
    assert.match(r.isolation, /^network=(netns|userns-netns|none) limits=(prlimit|ulimit)$/);
  });

  it('a failing assertion fails with the traceback', async () => {
    const r = await py('def add(a, b):\n    return a - b\nassert add(2, 2) == 4, "add is wrong"\n');
    assert.equal(r.status, 'failed');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /AssertionError: add is wrong/);
  });

  it('an infinite loop that forked a looping child is killed at the wall-clock timeout (the process group)', async () => {
    const r = await py('import subprocess, sys\nsubprocess.Popen([sys.executable, "-c", "while True: pass"])\nwhile True:\n    pass\n', { timeoutMs: 1000 });
    assert.equal(r.status, 'timeout');
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(r.ms >= 1000 && r.ms < 4000, `${r.ms} ms`);
  });

  it('a memory hog is refused by the address-space limit', async () => {
    const r = await py('x = bytearray(1024 * 1024 * 1024)\nprint("allocated")\n');
    assert.equal(r.status, 'failed');
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /MemoryError/);
  });

  it('the network is unreachable from inside (a server listening on the host loopback)', async () => {
    const src = `import socket\ntry:\n    s = socket.create_connection(("127.0.0.1", ${port}), timeout=2)\n    print("connected", s.recv(16))\nexcept OSError as e:\n    print("refused", e)\n`;
    const r = await py(src);
    assert.equal(r.status, 'passed', r.stderr);
    if (detectIsolation().network === 'none') {
      assert.match(r.stdout, /^connected/, 'without a namespace the loopback is reachable (and the run says network=none)');
      assert.match(r.isolation, /network=none/);
    } else {
      assert.match(r.stdout, /^refused .*(unreachable|refused)/i);
      assert.match(r.isolation, /network=(netns|userns-netns)/);
    }
  });

  it('the environment holds PATH and HOME only (nothing of the parent leaks)', async () => {
    process.env.MOE_SANDBOX_SECRET = 'do-not-leak';
    try {
      const r = await py('import os\nprint(sorted(os.environ))\n');
      assert.equal(r.status, 'passed', r.stderr);
      // LC_CTYPE may be set by Python itself (PEP 538 locale coercion), never by us.
      assert.deepEqual(JSON.parse(r.stdout.replace(/'/g, '"')).filter((k: string) => k !== 'LC_CTYPE'), ['HOME', 'PATH']);
    } finally {
      delete process.env.MOE_SANDBOX_SECRET;
    }
  });

  it('stdin is closed (EOF at once) and output is truncated at the limit', async () => {
    const r = await py('import sys\nprint(repr(sys.stdin.read()))\nsys.stdout.write("x" * 100000)\n', { outputBytes: 100 });
    assert.equal(r.status, 'passed', r.stderr);
    assert.equal(r.stdout.length, 100);
    assert.ok(r.stdout.startsWith("''\n"));
    assert.equal(r.truncated, true);
  });

  it('a missing python3 is named, not run', async () => {
    await assert.rejects(runSandboxed('python', 'print(1)', limits, { path: '/nonexistent' }), (e: Error) => e instanceof InterpreterMissingError && /python3 is not on PATH \(\/nonexistent\)/.test(e.message));
  });
});

describe('javascript (node, which the runtime image has)', () => {
  it('passes, fails on an assertion, and is killed at the timeout', async () => {
    const ok = await js('const assert = require("node:assert");\nassert.equal(1 + 1, 2);\nconsole.log("ok");\n');
    assert.equal(ok.status, 'passed', ok.stderr);
    assert.equal(ok.stdout, 'ok\n');
    const bad = await js('const assert = require("node:assert");\nassert.strictEqual(2 + 2, 5);\n');
    assert.equal(bad.status, 'failed');
    assert.match(bad.stderr, /AssertionError/);
    const loop = await js('for (;;) {}\n', { timeoutMs: 1000 });
    assert.equal(loop.status, 'timeout');
  });

  it('a heap hog dies at the heap limit; the network and the environment are closed as for python', async () => {
    const hog = await js('const a = []; for (;;) a.push(new Array(1e6).fill(1.5));\n', { memoryMiB: 64 });
    assert.equal(hog.status, 'failed');
    assert.match(hog.stderr, /heap out of memory|Allocation failed/);
    const src = `const s = require("node:net").connect(${port}, "127.0.0.1");\ns.on("connect", () => { console.log("connected"); s.destroy(); });\ns.on("error", (e) => console.log("refused", e.code));\nconsole.error(Object.keys(process.env).sort().join(","));\n`;
    const net = await js(src);
    assert.equal(net.status, 'passed', net.stderr);
    assert.equal(net.stderr.trim(), 'HOME,PATH');
    if (detectIsolation().network !== 'none') assert.match(net.stdout, /^refused (ENETUNREACH|ECONNREFUSED)/);
  });
});
