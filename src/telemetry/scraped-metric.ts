export interface MetricValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  /** For histograms: `<name>_bucket`, `<name>_sum` or `<name>_count`. */
  readonly metricName?: string;
}

/**
 * A prom-client metric whose values are read from plain counters when scraped, so that the
 * per-call path does no label hashing or allocation. Workers' values are summed by the
 * primary's AggregatorRegistry.
 */
export function scrapedMetric(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => MetricValue[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, values: values(), aggregator: 'sum' as const }),
    reset: () => undefined,
  } as never;
}
