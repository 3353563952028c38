// Rendered manifests are plain JSON; tests reach into them by path, often to break them on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately untyped access to rendered YAML in tests
export type Loose = Record<string, any>;
