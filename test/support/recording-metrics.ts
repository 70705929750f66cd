import type { MetricsSink } from '../../src/adapters/logging/powertools-metrics.js';

/** A MetricsSink that keeps what the handlers reported, per flush. */
export class RecordingMetrics implements MetricsSink {
  readonly flushed: Array<Record<string, number>> = [];
  #pending: Record<string, number> = {};

  count(name: string, value: number): void {
    this.#pending[name] = (this.#pending[name] ?? 0) + value;
  }

  gauge(name: string, value: number): void {
    this.#pending[name] = value;
  }

  flush(): void {
    this.flushed.push(this.#pending);
    this.#pending = {};
  }

  /** Sum of a metric over every flush. */
  total(name: string): number {
    return this.flushed.reduce((sum, metrics) => sum + (metrics[name] ?? 0), 0);
  }
}
