/**
 * A real full disk for tests: a small tmpfs mounted on a fresh folder (tests run as root). `fill()` takes
 * every free block with a filler file, `free()` removes it again, `unmount()` cleans up.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallDisk {
  dir: string;
  fill(): Promise<void>;
  free(): Promise<void>;
  unmount(): Promise<void>;
}

export async function mountSmallDisk(sizeKib: number): Promise<SmallDisk> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-disk-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKib}k,mode=0700`, 'tmpfs', dir]);
  const filler = path.join(dir, 'filler');
  return {
    dir,
    async fill() {
      const handle = await open(filler, 'a');
      const block = Buffer.alloc(4096, 0x66);
      try {
        for (;;) await handle.write(block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        await handle.close();
      }
    },
    async free() {
      await rm(filler, { force: true });
    },
    async unmount() {
      await run('umount', ['-l', dir]).catch(() => undefined);
      await rmdir(dir).catch(() => undefined);
    },
  };
}
