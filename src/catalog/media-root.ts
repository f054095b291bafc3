import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isHttpUrl } from './conditional-fetch';

/**
 * Where local songs may be when `audio.mediaRoot` is not set: the directory of a local catalog (the
 * manifest's folder, or the catalog directory itself), or a local `catalog.mediaBaseUrl`. An http
 * catalog gets none: its entries may not name local files at all.
 */
export function defaultMediaRoot(location: string, mediaBaseUrl = ''): string | undefined {
  if (mediaBaseUrl && !isHttpUrl(mediaBaseUrl)) return localPath(mediaBaseUrl);
  if (isHttpUrl(location)) return undefined;
  const path = localPath(location);
  try {
    return statSync(path).isDirectory() ? path : dirname(path);
  } catch {
    return dirname(path); // loading the catalog reports a missing location
  }
}

function localPath(location: string): string {
  return resolve(location.startsWith('file://') ? fileURLToPath(location) : location);
}
