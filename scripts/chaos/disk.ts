/**
 * A full disk for one node's data folder. Where the harness runs as root and `mount -t tmpfs`
 * works, the folder is a small tmpfs and "full" means a ballast file takes every free byte, so
 * the node's LevelDB writes really fail with ENOSPC. Elsewhere the node process is told (SIGUSR2)
 * to fail its database writes with ENOSPC itself (see scripts/node-proc.ts): a simulation.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type DiskMode = 'tmpfs' | 'simulated';

export class FullDisk {
  private mounted = false;
  private ballast: string;
  full = false;
  /** When the disk was last freed (ms since the epoch): answers in flight then may still fail. */
  freedAt = 0;

  constructor(
    readonly dir: string,
    private readonly sizeMb: number,
  ) {
    this.ballast = join(dir, 'ballast.bin');
  }

  /** Mount the tmpfs (when allowed); the mode says which kind of full disk this run gets. */
  prepare(): DiskMode {
    mkdirSync(this.dir, { recursive: true });
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'simulated';
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${this.sizeMb}m`, 'tmpfs', this.dir], { stdio: 'ignore' });
      this.mounted = true;
      return 'tmpfs';
    } catch {
      return 'simulated';
    }
  }

  get mode(): DiskMode {
    return this.mounted ? 'tmpfs' : 'simulated';
  }

  /** Take every free byte of the tmpfs. */
  fill(): number {
    if (!this.mounted) throw new Error('not a tmpfs');
    const fd = openSync(this.ballast, 'a');
    const chunk = Buffer.alloc(1024 * 1024);
    let written = 0;
    try {
      for (;;) {
        const free = statfsSync(this.dir).bavail * statfsSync(this.dir).bsize;
        if (free <= 0) break;
        written += writeSync(fd, chunk, 0, Math.min(chunk.length, free));
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      closeSync(fd);
    }
    this.full = true;
    return written;
  }

  free(): void {
    try {
      unlinkSync(this.ballast);
    } catch {
      /* already gone */
    }
    this.full = false;
    this.freedAt = Date.now();
  }

  freeBytes(): number {
    const s = statfsSync(this.dir);
    return s.bavail * s.bsize;
  }

  unmount(): void {
    this.free();
    if (!this.mounted) return;
    try {
      execFileSync('umount', ['-l', this.dir], { stdio: 'ignore' });
    } catch {
      /* best effort */
    }
    this.mounted = false;
  }
}
