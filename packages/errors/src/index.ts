export { SigilError, isSigilError } from './sigil-error';
export type { SigilErrorCode, SigilErrorOptions } from './sigil-error';
