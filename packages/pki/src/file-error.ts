/**
 * A short reason for a failed file operation, from its errno code: `no such file`,
 * `permission denied`, `is a directory`, `a parent is not a directory`; any other code as it is
 * (`ELOOP`), or the message of an error without one. Every Sigil "cannot read" / "cannot write"
 * message uses it, so the same failure reads the same everywhere.
 *
 * @example
 * ```ts
 * try {
 *   readFileSync(path);
 * } catch (cause) {
 *   throw new SigilError('ERR_FILE_UNREADABLE', `${path}: cannot read (${describeFileError(cause)})`, { cause });
 * }
 * ```
 */
export function describeFileError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}
