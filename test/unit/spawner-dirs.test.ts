import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleDirs } from '../../src/audio/spawner';

describe('the spawner sockets directory', () => {
  test("a daemon that was killed leaves its directory; the next start removes it, and only such directories of daemons that are gone", () => {
    const tmp = mkdtempSync(join(tmpdir(), 'mb-stale-'));
    try {
      const gone = spawnSync('true').pid!; // a pid that has exited
      const dirs = {
        dead: `music-bridge-spawner-${gone}-abc123`,
        mine: `music-bridge-spawner-${process.pid}-def456`,
        init: 'music-bridge-spawner-1-ghi789', // a process that runs (pid 1)
        other: `something-else-${gone}-x`,
        nopid: 'music-bridge-spawner-x-1',
      };
      for (const d of Object.values(dirs)) mkdirSync(join(tmp, d));
      removeStaleDirs(tmp);
      expect(existsSync(join(tmp, dirs.dead))).toBe(false);
      for (const d of [dirs.mine, dirs.init, dirs.other, dirs.nopid]) expect(existsSync(join(tmp, d))).toBe(true);
      removeStaleDirs(join(tmp, 'missing')); // no such directory: nothing happens
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
