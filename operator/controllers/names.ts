// Pure: resource names are reused as Service names and pod hostnames, so they must be DNS-1035 labels (RFC 1035:
// lowercase letters, digits and '-', starting with a letter, ending with a letter or digit). A dot is fine in a custom
// resource's name but not in a Service's; the CRDs reject it with a CEL rule, this is the backstop for older CRDs.
export const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** An error naming metadata.name and the fix, or undefined when `name` can be used. */
export function dnsLabelError(name: string, why: string): string | undefined {
  if (DNS_LABEL.test(name)) return undefined;
  return `metadata.name: ${JSON.stringify(name)} is not a DNS label (${why}); use lowercase letters, digits and '-', starting with a letter, no dots (e.g. ${JSON.stringify(suggest(name))})`;
}

function suggest(name: string): string {
  const s = name.toLowerCase().replace(/[^-a-z0-9]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '');
  return s || 'my-job';
}
