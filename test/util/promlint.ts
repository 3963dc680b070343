// The checks `promtool check metrics` makes on a text exposition (client_golang's promlint rules plus the parser's
// structural ones), written from their documented behaviour so that tests need no promtool binary. Each problem
// names the metric family and the rule, in promtool's words where it has them.

export interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: string }>;
}

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'gaugehistogram', 'info', 'stateset', 'unknown']);
/** Units promlint wants spelled as base units (seconds, bytes, ...), and the abbreviations it refuses. */
const NON_BASE_UNITS = ['amperes', 'bytes', 'celsius', 'grams', 'joules', 'kelvin', 'meters', 'metres', 'seconds', 'volts']
  .flatMap((u) => ['pico', 'nano', 'micro', 'milli', 'centi', 'deci', 'deca', 'hecto', 'kilo', 'kibi', 'mega', 'mebi', 'giga', 'gibi', 'tera', 'tebi', 'peta', 'pebi'].map((p) => p + u))
  .concat(['minutes', 'hours', 'days', 'weeks', 'fahrenheit']);
const ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses the Prometheus text format; throws with the line number on anything promtool's parser would refuse. */
export function parseExposition(text: string): Family[] {
  const families = new Map<string, Family>();
  const order: Family[] = [];
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
      order.push(f);
    }
    return f;
  };
  let current: Family | undefined;
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.trim() === '') return;
    const meta = line.match(/^# (HELP|TYPE) (\S+)(?: (.*))?$/);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      if (!NAME.test(name!)) throw new Error(`invalid metric name (${where})`);
      const f = family(name!);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name} (${where})`);
        f.help = rest;
      } else {
        if (!TYPES.has(rest)) throw new Error(`unknown type "${rest}" (${where})`);
        if (f.samples.length || f.type !== 'untyped') throw new Error(`TYPE for ${name} after its samples or twice (${where})`);
        f.type = rest;
      }
      current = f;
      return;
    }
    if (line.startsWith('#')) return;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/);
    if (!m) throw new Error(`cannot parse sample (${where})`);
    const [, name, body = '', value] = m;
    // Go's strconv.ParseFloat reads the value: Inf/Infinity/NaN in any case (prom-client writes "Nan").
    if (!/^([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|infinity)|nan)$/i.test(value!)) throw new Error(`bad value "${value}" (${where})`);
    const labels: Record<string, string> = {};
    const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
    let at = 0;
    while (at < body.length) {
      re.lastIndex = at;
      const l = re.exec(body);
      if (!l) throw new Error(`bad label set (${where})`);
      if (l[1]! in labels) throw new Error(`duplicate label ${l[1]} (${where})`);
      labels[l[1]!] = l[2]!;
      at = re.lastIndex;
    }
    // A sample belongs to the family declared last when its name is that family's or a histogram/summary child's.
    const base = current && (name === current.name || (/^(histogram|summary)$/.test(current.type) && /_(bucket|sum|count)$/.test(name!) && name!.replace(/_(bucket|sum|count)$/, '') === current.name)) ? current : family(name!);
    base.samples.push({ name: name!, labels, value: value! });
  });
  return order;
}

/** promtool's lint problems for an exposition, as "name: problem" strings; empty when it passes. */
export function lintExposition(text: string): string[] {
  const problems: string[] = [];
  const add = (f: Family, p: string) => problems.push(`${f.name}: ${p}`);
  const seen = new Set<string>();
  for (const f of parseExposition(text)) {
    if (!f.help) add(f, 'no help text');
    const total = f.name.endsWith('_total');
    if (f.type === 'counter' && !total) add(f, 'counter metrics should have "_total" suffix');
    if (f.type !== 'counter' && f.type !== 'untyped' && total) add(f, 'non-counter metrics should not have "_total" suffix');
    if (f.type !== 'histogram' && f.type !== 'summary') {
      for (const s of ['_bucket', '_count', '_sum']) if (f.name.endsWith(s)) add(f, `non-histogram and non-summary metrics should not have "${s}" suffix`);
    }
    const tokens = f.name.split('_');
    if (f.type !== 'untyped' && tokens.slice(1).includes(f.type)) add(f, `metric name should not include type '${f.type}'`);
    for (const u of NON_BASE_UNITS) if (tokens.includes(u)) add(f, `use base unit instead of "${u}"`);
    for (const a of ABBREVIATIONS) if (tokens.slice(1).includes(a)) add(f, `metric names should not contain abbreviated units ("${a}")`);
    if (f.name.includes(':')) add(f, 'metric names should not contain ":"');
    if (/[A-Z]/.test(f.name)) add(f, "metric names should be written in 'snake_case' not 'camelCase'");
    for (const s of f.samples) {
      for (const l of Object.keys(s.labels)) {
        if (!LABEL.test(l) || /[A-Z]/.test(l)) add(f, `label names should be written in 'snake_case' not 'camelCase' (${l})`);
        if (l === 'le' && !(f.type === 'histogram' && s.name.endsWith('_bucket'))) add(f, 'non-histogram metrics should not have "le" label');
        if (l === 'quantile' && f.type !== 'summary') add(f, 'non-summary metrics should not have "quantile" label');
      }
      const key = `${s.name}{${Object.entries(s.labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
      if (seen.has(key)) add(f, `metric not unique (${key})`);
      seen.add(key);
    }
    if (f.type === 'histogram') {
      const series = new Set(f.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => JSON.stringify(Object.entries(s.labels).filter(([k]) => k !== 'le').sort())));
      for (const k of series) {
        const inf = f.samples.some((s) => s.name.endsWith('_bucket') && s.labels.le === '+Inf' && JSON.stringify(Object.entries(s.labels).filter(([x]) => x !== 'le').sort()) === k);
        if (!inf) add(f, `histogram without a +Inf bucket (${k})`);
      }
    }
  }
  return problems;
}

/** Series (samples) per family, to bound cardinality. */
export function seriesCount(text: string, family: string): number {
  return parseExposition(text).find((f) => f.name === family)?.samples.length ?? 0;
}
