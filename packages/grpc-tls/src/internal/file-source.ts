import type { FSWatcher } from 'node:fs';
import { lstatSync, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { readCertificateChainFile, readPrivateKeyFile, readTrustBundleFile } from '@sigil/pki';
import type { TlsFileSetting, TlsReloadSettings } from '../config';
import type { ApplyResult, MaterialSources, ParsedMaterial, ValidationSettings } from './material';
import { MaterialStore } from './material';

/** The files of one endpoint, each with the setting that named it. */
export interface MaterialFiles {
  readonly certificate?: TlsFileSetting;
  readonly privateKey?: TlsFileSetting;
  readonly ca?: TlsFileSetting;
}

/**
 * Material read from files and re-read when they change: a watch on each file's directory
 * (cert-manager swaps the `..data` symlink there; editors and `cp` rewrite the file), a watch on
 * the parent of a directory that is a symlink (`GRPC_TLS_DIR=/etc/tls/current` retargeted to a new
 * release with `ln -sfn`), a periodic re-read as a safety net, and SIGHUP. Changes are debounced so a certificate and key written one
 * after the other are read together; a pair that does not validate is never served.
 */
export class FileMaterialSource {
  readonly store: MaterialStore;
  private readonly sources: MaterialSources;
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private readonly onSighup = () => this.reload('sighup');
  private closed = false;
  private rewatchPending = false;

  /** Reads and validates the files (throwing one error naming the variable and file), then starts watching. */
  constructor(
    private readonly files: MaterialFiles,
    private readonly reloadSettings: TlsReloadSettings,
    validation: ValidationSettings,
    private readonly onWatchError: (error: Error) => void,
  ) {
    this.sources = {
      certificate: describe(files.certificate, 'certificate'),
      privateKey: describe(files.privateKey, 'private key'),
      ca: describe(files.ca, 'CA bundle'),
    };
    this.store = new MaterialStore(this.read(), this.sources, validation);
    this.start();
  }

  /** Re-reads the files now; `trigger` says why (`watch`, `poll`, `sighup`, `manual`). */
  reload(trigger: string): ApplyResult {
    return this.store.apply(() => this.read(), this.sources, trigger);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
    process.removeListener('SIGHUP', this.onSighup);
  }

  private read(): ParsedMaterial {
    const { certificate, privateKey, ca } = this.files;
    return {
      ...(certificate
        ? { chain: withVariable(certificate, () => readCertificateChainFile(certificate.path)) }
        : {}),
      ...(privateKey
        ? { key: withVariable(privateKey, () => readPrivateKeyFile(privateKey.path)) }
        : {}),
      ...(ca ? { ca: withVariable(ca, () => readTrustBundleFile(ca.path)) } : {}),
    };
  }

  private start(): void {
    const { watch: watching, pollIntervalMs, reloadOnSighup } = this.reloadSettings;
    if (watching) this.watchDirectories();
    if (pollIntervalMs > 0) {
      this.poll = setInterval(() => this.reload('poll'), pollIntervalMs);
      this.poll.unref();
    }
    if (reloadOnSighup) process.on('SIGHUP', this.onSighup);
  }

  /** Watches each directory holding a file, and the parent of each such directory that is a symlink. */
  private watchDirectories(): void {
    const byDirectory = new Map<string, Set<string>>();
    const add = (directory: string, name: string) => {
      const names = byDirectory.get(directory) ?? new Set<string>();
      names.add(name);
      byDirectory.set(directory, names);
    };
    const linkedDirectories = new Set<string>();
    for (const file of [this.files.certificate, this.files.privateKey, this.files.ca]) {
      if (!file) continue;
      const directory = dirname(file.path);
      add(directory, basename(file.path));
      // A watch on a symlinked directory follows the link once, to the old target: retargeting
      // the link is an event of its parent, after which the directory is watched afresh.
      if (isSymlink(directory)) {
        linkedDirectories.add(directory);
        add(dirname(directory), basename(directory));
      }
    }
    for (const [directory, names] of byDirectory) {
      try {
        const watcher = watch(directory, { persistent: false }, (_event, filename) => {
          // kubelet's atomic update renames `..data` (and `..<timestamp>` directories) in place.
          const name = filename === null ? null : String(filename);
          if (name !== null && linkedDirectories.has(join(directory, name))) this.rewatch();
          else if (name === null || names.has(name) || name.startsWith('..')) this.schedule();
        });
        watcher.on('error', (error) => this.onWatchError(error));
        this.watchers.push(watcher);
      } catch (error) {
        this.onWatchError(error as Error);
      }
    }
  }

  /**
   * A watched symlink was retargeted: after the debounce (`ln -sfn` removes the link, then makes
   * it again), watch the directories it points to now, and reload.
   */
  private rewatch(): void {
    this.rewatchPending = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      if (this.rewatchPending) {
        this.rewatchPending = false;
        for (const watcher of this.watchers) watcher.close();
        this.watchers.length = 0;
        this.watchDirectories();
      }
      this.reload('watch');
    }, this.reloadSettings.debounceMs);
    this.debounce.unref();
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** `GRPC_SERVER_CERT_PATH (/etc/grpc-tls/tls.crt)`, or the file alone when a directory variable implied it. */
function describe(file: TlsFileSetting | undefined, what: string): string {
  return file ? `${file.origin} (${file.path})` : what;
}

/** Re-raises pki's file errors (which name the file) so they also name the setting. */
function withVariable<T>(file: TlsFileSetting, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const error = SigilError.from(err, 'ERR_FILE_UNREADABLE');
    throw new SigilError(error.code, `${file.origin}: ${error.message}`, {
      cause: err,
      details: { ...error.details, variable: file.origin, file: file.path },
    });
  }
}
