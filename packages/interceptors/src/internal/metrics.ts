import { SigilError } from '@sigil/errors';
import { Counter, Histogram, register } from 'prom-client';
import type { CounterConfiguration, HistogramConfiguration, Registry } from 'prom-client';

/**
 * The registry's existing metric of that name, or a new one registered there: several servers
 * (or interceptor chains) in one process share one registry without a "metric already
 * registered" error.
 */
export function counter<T extends string>(
  registry: Registry | undefined,
  config: CounterConfiguration<T>,
): Counter<T> {
  return existingOrNew(
    registry ?? register,
    config.name,
    Counter,
    (registers) => new Counter({ ...config, registers }),
  );
}

export function histogram<T extends string>(
  registry: Registry | undefined,
  config: HistogramConfiguration<T>,
): Histogram<T> {
  return existingOrNew(
    registry ?? register,
    config.name,
    Histogram,
    (registers) => new Histogram({ ...config, registers }),
  );
}

function existingOrNew<M>(
  registry: Registry,
  name: string,
  kind: abstract new (...args: never[]) => M,
  create: (registers: Registry[]) => M,
): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create([registry]);
  if (!(existing instanceof kind)) {
    throw new SigilError(
      'ERR_METRIC_CONFLICT',
      `metric ${name} is already registered with a different type`,
      { details: { metric: name } },
    );
  }
  return existing;
}
