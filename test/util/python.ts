// The project's Python (MOE_PYTHON, .tools/pyenv from `make pyenv`) for tests that check against real Python
// libraries; a missing interpreter or module fails the test with the command that installs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function pythonWith(modules: string[]): string {
  const py = process.env.MOE_PYTHON;
  if (!py || !existsSync(py)) throw new Error(`MOE_PYTHON is ${py ? `"${py}", which does not exist` : 'not set'}: run "make pyenv" and run the tests through make, which exports MOE_PYTHON`);
  try {
    execFileSync(py, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`${py} cannot import ${modules.join(', ')} (${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n').pop()}): run "make pyenv", which installs test/requirements.txt`);
  }
  return py;
}

/** The first of `candidates` (unset ones skipped) that imports every module, for a benchmark's optional peer. */
export function findPython(candidates: (string | undefined)[], modules: string[]): string | undefined {
  const code = modules.map((m) => `import ${m}`).join('; ');
  return candidates.find((py) => py !== undefined && spawnSync(py, ['-c', code], { stdio: 'ignore' }).status === 0);
}

/** Runs `script` with args; its stdout parsed as JSON. */
export function pythonJson(py: string, script: string, args: string[]): unknown {
  return JSON.parse(execFileSync(py, [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }));
}
