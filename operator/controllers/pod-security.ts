// Pod Security for the pods the operator creates. The rule (README, "Pod Security"): the operator fills in the
// settings of the Pod Security Standards' `restricted` profile that the user's template leaves unset, and passes
// through every setting the template makes explicitly. So a template that says nothing runs in a `restricted`
// namespace; one that asks for more (root, privileged, added capabilities, host namespaces) is passed through as
// written, and the namespace's Pod Security admission decides, as it does for Deployments and Jobs.
import type { V1Container, V1PodSpec, V1SecurityContext } from '@kubernetes/client-node';

/** The restricted profile's container settings, applied to each field the container leaves unset. */
function containerDefaults(c: V1Container): V1Container {
  const sc: V1SecurityContext = { ...(c.securityContext ?? {}) };
  if (sc.allowPrivilegeEscalation === undefined && !sc.privileged) sc.allowPrivilegeEscalation = false;
  if (sc.capabilities === undefined) sc.capabilities = { drop: ['ALL'] };
  else if (sc.capabilities.drop === undefined) sc.capabilities = { ...sc.capabilities, drop: ['ALL'] };
  return { ...c, securityContext: sc };
}

/** Returns `spec` with the restricted profile's defaults filled in where the template is silent. Pure. */
export function withRestrictedDefaults(spec: V1PodSpec): V1PodSpec {
  const psc = { ...(spec.securityContext ?? {}) };
  const containersSayRoot = [...spec.containers, ...(spec.initContainers ?? [])]
    .some((c) => c.securityContext?.runAsNonRoot === false || c.securityContext?.runAsUser === 0);
  if (psc.runAsNonRoot === undefined && psc.runAsUser !== 0 && !containersSayRoot) psc.runAsNonRoot = true;
  if (psc.seccompProfile === undefined) psc.seccompProfile = { type: 'RuntimeDefault' };
  const out: V1PodSpec = { ...spec, securityContext: psc, containers: spec.containers.map(containerDefaults) };
  if (spec.initContainers) out.initContainers = spec.initContainers.map(containerDefaults);
  return out;
}
