// Prometheus metrics of the operator, on their own registry so tests can create several. The framework's families
// (reconciles, leader, watch restarts) live here; a controller adds its own with `part` (MTJ: mtj/metrics.ts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Default Node.js metrics that are gauges with a counter's `_total` suffix. */
export const GAUGES_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({ name: 'moe_reconcile_total', help: 'Reconciles by kind and outcome', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({
    name: 'moe_reconcile_duration_seconds',
    help: 'Reconcile duration by kind',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({ name: 'moe_leader', help: '1 when this replica holds the leader lease', registers: [this.registry] });
  readonly watchRestarts = new Counter({ name: 'moe_watch_restarts_total', help: 'Informer restarts after errors or stalls', labelNames: ['resource'], registers: [this.registry] });
  private readonly parts = new Map<(registry: Registry) => unknown, unknown>();

  constructor(defaults = true) {
    if (!defaults) return;
    collectDefaultMetrics({ register: this.registry });
    // prom-client types these totals as gauges named `…_total`, which `promtool check metrics` refuses; each is the sum
    // of the same family without the suffix (by handle/request/resource type), so nothing is lost.
    for (const name of GAUGES_NAMED_TOTAL) this.registry.removeSingleMetric(name);
  }

  /** A controller's own metric families, registered on this registry once (every caller of one `make` shares them). */
  part<T>(make: (registry: Registry) => T): T {
    if (!this.parts.has(make)) this.parts.set(make, make(this.registry));
    return this.parts.get(make) as T;
  }
}
