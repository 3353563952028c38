/**
 * A Map of at most `capacity` entries in which a hit makes an entry the most recent and the
 * least recently used one leaves first: for caches of what the process sees again and again
 * (CA certificates, trust bundles) among one-off values (leaves) that must not grow it.
 */
export class RecentCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
