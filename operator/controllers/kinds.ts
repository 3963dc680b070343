// The project's custom resources with their REST plurals. The framework (operator/kube) knows only Kubernetes'
// built-in kinds; each controller registers these before it builds a path to one of them.
import { INFD_KIND, INFD_PLURAL, INFROLE_KIND, INFROLE_PLURAL, MTJ_KIND, MTJ_PLURAL, TOPOLOGY_KIND, TOPOLOGY_PLURAL } from '../api/constants.js';
import { registerKinds } from '../kube/rest.js';

export const PROJECT_KINDS: Readonly<Record<string, string>> = {
  [MTJ_KIND]: MTJ_PLURAL,
  [TOPOLOGY_KIND]: TOPOLOGY_PLURAL,
  [INFD_KIND]: INFD_PLURAL,
  [INFROLE_KIND]: INFROLE_PLURAL,
};

/** Registers the project's kinds with the framework's REST paths (idempotent). */
export function registerProjectKinds(): void {
  registerKinds(PROJECT_KINDS);
}
