// Hash routing: `#/connectors` names a page; anything else is the overview.

/** The console's pages, in navigation order. */
export const PAGES = [
  { id: 'overview', label: 'Overview', adminOnly: false },
  { id: 'connectors', label: 'Connectors', adminOnly: false },
  { id: 'tunnelers', label: 'Tunnelers', adminOnly: false },
  { id: 'tokens', label: 'Tokens', adminOnly: false },
  { id: 'audit', label: 'Audit log', adminOnly: false },
  { id: 'ca', label: 'Certificate authority', adminOnly: false },
  { id: 'entries', label: 'Entries', adminOnly: false },
  { id: 'resources', label: 'Resources', adminOnly: false },
  { id: 'grants', label: 'Grants', adminOnly: false },
  { id: 'users', label: 'Users', adminOnly: true },
] as const;

/** One page's id. */
export type PageId = (typeof PAGES)[number]['id'];

/**
 * The page a location hash names; the overview for an empty or unknown hash, and for a page
 * the role may not see.
 *
 * @example
 * ```ts
 * parseRoute('#/connectors', 'viewer'); // 'connectors'
 * parseRoute('#/users', 'viewer'); // 'overview'
 * ```
 */
export function parseRoute(hash: string, role: 'viewer' | 'admin'): PageId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  const page = PAGES.find((p) => p.id === id);
  if (page === undefined || (page.adminOnly && role !== 'admin')) return 'overview';
  return page.id;
}

/**
 * The pages a role sees in the navigation.
 *
 * @example
 * ```ts
 * visiblePages('viewer').map((p) => p.label); // no 'Users'
 * ```
 */
export function visiblePages(role: 'viewer' | 'admin'): (typeof PAGES)[number][] {
  return PAGES.filter((page) => !page.adminOnly || role === 'admin');
}
