/**
 * A Map bounded to `capacity` entries that evicts the oldest insertion (a hit does not reorder:
 * hits are the hot path and an evicted entry is simply recomputed). Used for caches keyed by
 * values a peer chooses (certificates, method names, SPIFFE IDs), which must not grow without
 * limit.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}
