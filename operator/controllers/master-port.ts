// The rendezvous port of a gang (pure): 29500 (torchrun's default) unless the template's first container sets
// MASTER_PORT, which is then honoured everywhere the port appears (the env, the headless Service, the container port).
// Several gangs can share a network (host networking, the local runner), so a user may need to pick another port.
import { RankEnv } from '../contract/index.js';

export const DEFAULT_MASTER_PORT = 29500;

interface TemplateLike { spec?: { containers?: Array<{ env?: Array<{ name?: string; value?: string; valueFrom?: unknown }> }> } }

/** The user's MASTER_PORT entry in the first container, if any. */
function userEntry(template: unknown): { value?: string; valueFrom?: unknown } | undefined {
  const cs = (template as TemplateLike | undefined)?.spec?.containers;
  if (!Array.isArray(cs) || !cs[0] || !Array.isArray(cs[0].env)) return undefined;
  return cs[0].env.find((e) => e?.name === RankEnv.masterPort);
}

/** The error for a bad user MASTER_PORT (naming the field and the fix), or undefined when it is fine or unset. */
export function masterPortError(template: unknown): string | undefined {
  const e = userEntry(template);
  if (!e) return undefined;
  const field = `spec.template.spec.containers[0].env[${RankEnv.masterPort}]`;
  if (e.valueFrom !== undefined || e.value === undefined) return `${field}: give a literal value (the operator also puts the port on the Service), not valueFrom`;
  const v = Number(e.value);
  if (!/^\d+$/.test(e.value) || v < 1 || v > 65535) return `${field}: ${JSON.stringify(e.value)} is not a port in 1..65535`;
  return undefined;
}

/** The port the gang's rank 0 serves the rendezvous store on. */
export function masterPort(template: unknown): number {
  const e = userEntry(template);
  if (!e || masterPortError(template) !== undefined) return DEFAULT_MASTER_PORT;
  return Number(e.value);
}
