// @sigil/tunneler: the Sigil tunneler agent (`sigil-tunneler enroll|run`). For embedding and
// tests; the command line is bin/sigil-tunneler.js.
export { startTunnelerPart } from './tunneler';

export type { TunnelerPart } from './tunneler';
