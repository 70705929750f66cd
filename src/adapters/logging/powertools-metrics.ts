import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../config/metrics.js';

/** What the handlers report after each run; flushed once per invocation. */
export interface MetricsSink {
  count(name: string, value: number): void;
  gauge(name: string, value: number, unit: 'Count' | 'Seconds' | 'None'): void;
  flush(): void;
}

/** MetricsSink on Powertools metrics: CloudWatch Embedded Metric Format on stdout. */
export class EmfMetrics implements MetricsSink {
  readonly #metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'certloop' });

  count(name: string, value: number): void {
    this.#metrics.addMetric(name, MetricUnit.Count, value);
  }

  gauge(name: string, value: number, unit: 'Count' | 'Seconds' | 'None'): void {
    const units = { Count: MetricUnit.Count, Seconds: MetricUnit.Seconds, None: MetricUnit.NoUnit };
    this.#metrics.addMetric(name, units[unit], value);
  }

  flush(): void {
    this.#metrics.publishStoredMetrics();
  }
}
