/** Latency samples in milliseconds, kept whole so percentiles are exact rather than bucketed. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/**
 * The nearest-rank percentile of an ascending array: the smallest sample that at least `p` percent
 * of the samples do not exceed.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]!;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const values = Array.from(sorted);
  const total = values.reduce((sum, v) => sum + v, 0);
  return {
    count: values.length,
    p50Ms: round(percentile(values, 50)),
    p90Ms: round(percentile(values, 90)),
    p99Ms: round(percentile(values, 99)),
    maxMs: round(values.at(-1) ?? 0),
    meanMs: round(values.length ? total / values.length : 0),
  };
}

/** Named latency series plus outcome counters for one benchmark case. */
export interface Recorder {
  latency(series: string, ms: number): void;
  outcome(name: string): void;
  latencies(): Record<string, LatencySummary>;
  outcomes(): Record<string, number>;
}

export function createRecorder(): Recorder {
  const series = new Map<string, number[]>();
  const counts = new Map<string, number>();
  return {
    latency(name, ms) {
      const list = series.get(name) ?? [];
      list.push(ms);
      series.set(name, list);
    },
    outcome(name) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    },
    latencies: () => Object.fromEntries([...series].map(([name, samples]) => [name, summarize(samples)])),
    outcomes: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
  };
}
