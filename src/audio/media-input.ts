import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SongFailure } from './failure';

/** Protocols ffmpeg may use for an http(s) song: the request, its TCP/TLS transport, and crypto for encrypted HLS segments. */
export const NETWORK_PROTOCOLS = 'http,https,tcp,tls,crypto';
/** A local song reads one file and nothing else. */
export const FILE_PROTOCOLS = 'file';

/** Where local songs may live. `root` undefined: no local file at all. */
export interface MediaPolicy {
  root: string | undefined;
}

/** What ffmpeg is given for one song: the input, and the protocols it may use to read it. */
export interface MediaInput {
  input: string;
  protocols: string;
  network: boolean;
}

/**
 * Checks a song URL before any ffmpeg is spawned and turns it into ffmpeg's input. http(s) URLs are
 * passed as they are; a `file://` URL or a path must resolve (symlinks followed) to a file under the
 * media root, and is passed as `file:<real path>` so that ffmpeg never reads a protocol prefix out of
 * a file name (`concat:`, `subfile:`). Any other scheme is refused. Throws a SongFailure
 * (`protocol not allowed`, `outside media root`, `not found`).
 */
export function resolveMediaInput(url: string, policy: MediaPolicy): MediaInput {
  if (/^https?:\/\//i.test(url)) return { input: url, protocols: NETWORK_PROTOCOLS, network: true };
  let path: string;
  if (/^file:/i.test(url)) {
    try {
      path = fileURLToPath(url);
    } catch {
      throw new SongFailure('protocol not allowed', 'song'); // file://host/... and other non-local forms
    }
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(url) || url.includes('\0')) {
    throw new SongFailure('protocol not allowed', 'song');
  } else {
    path = resolve(url);
  }
  const outside = (): SongFailure => new SongFailure('outside media root', 'song');
  if (!policy.root) throw outside();
  const root = realPath(policy.root, 'outside media root');
  // Refused by its name first (`../../x` says where it points even when it does not exist), then
  // by where it really is (a symlink out of the root).
  if (!isInside(path, resolve(policy.root)) && !isInside(path, root)) throw outside();
  const real = realPath(path);
  if (!isInside(real, root)) throw outside();
  return { input: `file:${real}`, protocols: FILE_PROTOCOLS, network: false };
}

function realPath(path: string, missing = 'not found'): string {
  try {
    return realpathSync(path);
  } catch {
    throw new SongFailure(missing, 'song');
  }
}

/** True when `path` is strictly below `root` (both real paths). */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
