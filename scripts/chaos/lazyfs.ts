/**
 * A power cut, for the harness: a data folder on LazyFS (../shared/lazyfs, a FUSE file system that
 * keeps every write in its own cache until the writer fsyncs it, and drops the rest on command).
 * The power-loss fault kills the process using the folder with -9, drops every byte it never
 * fsynced, and starts it again on what the disk really holds. Where LazyFS cannot run (not root, no
 * /dev/fuse, no fuse3) `lazyFsUnavailable()` says why and the harness skips the fault.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
export const LAZYFS_SH = resolve(process.env.DOM_LAZYFS_DIR ?? join(ROOT, '..', 'shared', 'lazyfs'), 'lazyfs.sh');

let cached: string | null | undefined;
/** Why LazyFS cannot run here, or null when it can. */
export function lazyFsUnavailable(): string | null {
  if (cached !== undefined) return cached;
  if (!existsSync(LAZYFS_SH)) return (cached = `no LazyFS at ${LAZYFS_SH}`);
  try {
    execFileSync('bash', [LAZYFS_SH, 'check'], { stdio: 'pipe' });
    return (cached = null);
  } catch (err) {
    return (cached = String((err as { stdout?: Buffer }).stdout ?? err).trim() || 'lazyfs.sh check failed');
  }
}

export class LazyMount {
  private mounted = false;
  /** Power cuts taken, and the bytes each dropped (what was never fsynced at the cut). */
  readonly cuts: { at: string; droppedBytes: number | null }[] = [];

  constructor(
    readonly dir: string,
    private readonly cacheSize = '512mb',
  ) {}

  /** The folder a process keeps its data in (inside the mount). */
  get dataDir(): string {
    return join(this.dir, 'mnt', 'data');
  }

  mount(): string {
    mkdirSync(this.dir, { recursive: true });
    execFileSync('bash', [LAZYFS_SH, 'mount', this.dir], { stdio: 'pipe', env: { ...process.env, LAZYFS_CACHE: this.cacheSize } });
    this.mounted = true;
    mkdirSync(this.dataDir, { recursive: true });
    return this.dataDir;
  }

  /** Bytes written and never fsynced, as LazyFS reports them (null if it did not answer). */
  unsynced(): number | null {
    try {
      const out = execFileSync('bash', [LAZYFS_SH, 'unsynced', this.dir], { stdio: 'pipe', timeout: 10_000 }).toString();
      const m = /total number of bytes un-fsynced: (\d+)/.exec(out);
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  /**
   * Drop every byte not yet fsynced, unmount and mount again. Every process using the folder must
   * be gone first (killed with -9: that is the power cut).
   */
  powerLoss(): number | null {
    const droppedBytes = this.unsynced();
    execFileSync('bash', [LAZYFS_SH, 'power-loss', this.dir], { stdio: 'pipe', env: { ...process.env, LAZYFS_CACHE: this.cacheSize }, timeout: 60_000 });
    this.cuts.push({ at: new Date().toISOString(), droppedBytes });
    return droppedBytes;
  }

  umount(): void {
    if (!this.mounted) return;
    try {
      execFileSync('bash', [LAZYFS_SH, 'umount', this.dir], { stdio: 'pipe', timeout: 30_000 });
    } catch {
      try {
        execFileSync('fusermount3', ['-uz', join(this.dir, 'mnt')], { stdio: 'ignore' });
      } catch {
        /* best effort */
      }
    }
    this.mounted = false;
  }
}
