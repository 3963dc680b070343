// The project's custom resources with their REST plurals. The framework (operator/kube) knows only Kubernetes'
// built-in kinds; each controller passes these to its wiring (kube/wiring.ts), which registers them.
import { EVAL_KIND, EVAL_PLURAL, INFD_KIND, INFD_PLURAL, INFROLE_KIND, INFROLE_PLURAL, MTJ_KIND, MTJ_PLURAL, TOPOLOGY_KIND, TOPOLOGY_PLURAL } from '../api/constants.js';

export const PROJECT_KINDS: Readonly<Record<string, string>> = {
  [MTJ_KIND]: MTJ_PLURAL,
  [TOPOLOGY_KIND]: TOPOLOGY_PLURAL,
  [INFD_KIND]: INFD_PLURAL,
  [INFROLE_KIND]: INFROLE_PLURAL,
  [EVAL_KIND]: EVAL_PLURAL,
};

