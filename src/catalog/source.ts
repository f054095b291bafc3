import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { Catalog } from './catalog';
import { ConditionalFetch, isHttpUrl } from './conditional-fetch';
import { DirectorySource } from './directory-source';
import { parseJson } from './json-fields';
import { parseManifest, type ParsedCatalog } from './manifest';
import { MetadataLayoutSource } from './metadata-layout';

/** Where songs come from. `load` resolves 'unchanged' when the source knows nothing changed. */
export interface CatalogSource {
  readonly location: string;
  load(): Promise<ParsedCatalog | 'unchanged'>;
}

/** A manifest on local disk. */
export class ManifestFileSource implements CatalogSource {
  constructor(readonly location: string) {}

  async load(): Promise<ParsedCatalog> {
    const raw = await readFile(this.location, 'utf8');
    return parseManifest(parseJson(raw, `catalog ${this.location}`), this.location);
  }
}

/** A manifest over HTTP, fetched conditionally (ETag / Last-Modified) so refreshes are cheap. */
export class ManifestHttpSource implements CatalogSource {
  private readonly document: ConditionalFetch;

  constructor(readonly location: string, timeoutMs = 10_000) {
    this.document = new ConditionalFetch(location, timeoutMs, `catalog ${location}`);
  }

  load(): Promise<ParsedCatalog | 'unchanged'> {
    return this.document.fetch((body) => parseManifest(parseJson(body, `catalog ${this.location}`), this.location));
  }
}

export type CatalogFormat = 'auto' | 'manifest' | 'metadata' | 'directory';

export interface SourceOptions {
  /** Which kind of catalog `location` is; `auto` guesses (see `detectFormat`). */
  format?: CatalogFormat;
  /** metadata layout: the languages to load; empty: discover them. */
  languages?: string[];
  /** metadata layout: base of the song URLs (the CDN); empty: the location. */
  mediaBaseUrl?: string;
  /** directory: language of files whose tags and folder name none. */
  defaultLanguage?: string;
}

/** The source for a catalog location, by the configured (or detected) format. */
export function createSource(location: string, opts: SourceOptions = {}): CatalogSource {
  const format = !opts.format || opts.format === 'auto' ? detectFormat(location) : opts.format;
  switch (format) {
    case 'metadata':
      return new MetadataLayoutSource({ location, languages: opts.languages, mediaBaseUrl: opts.mediaBaseUrl });
    case 'directory':
      return new DirectorySource(location, { defaultLanguage: opts.defaultLanguage });
    default:
      return isHttpUrl(location) ? new ManifestHttpSource(location) : new ManifestFileSource(location);
  }
}

/**
 * A `.json` file or URL is a manifest; another http(s) URL is the base of the metadata layout; a
 * local directory is the metadata layout when it has a `music/` folder, else a folder of audio files.
 */
export function detectFormat(location: string): Exclude<CatalogFormat, 'auto'> {
  if (isHttpUrl(location)) return /\.json$/i.test(new URL(location).pathname) ? 'manifest' : 'metadata';
  let isDir = false;
  try {
    isDir = statSync(location).isDirectory();
  } catch {
    return 'manifest'; // missing: loading says so
  }
  if (!isDir) return 'manifest';
  return existsSync(join(location, 'music')) ? 'metadata' : 'directory';
}

export interface CatalogStoreEvents {
  /** A new copy was loaded; `problems` lists the entries that were skipped. */
  updated: (songs: number, problems: string[]) => void;
  /** A refresh failed; the last good copy stays in use. */
  refreshFailed: (error: Error) => void;
}

/** Holds the current catalog and refreshes it on an interval, keeping the last good copy. */
export class CatalogStore extends EventEmitter<CatalogStoreEvents> {
  private catalog = new Catalog([]);
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly source: CatalogSource, private readonly opts: { refreshSeconds: number }) {
    super();
  }

  get current(): Catalog {
    return this.catalog;
  }

  /** Loads the first copy; a failure here is a start-up error. */
  async start(): Promise<void> {
    const first = await this.source.load();
    if (first !== 'unchanged') this.accept(first);
    if (this.opts.refreshSeconds > 0) {
      this.timer = setInterval(() => void this.refresh(), this.opts.refreshSeconds * 1000);
      this.timer.unref();
    }
  }

  /** Reloads now; never throws (a failure is an event and the last good copy stays). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const next = await this.source.load();
        if (next === 'unchanged') return;
        if (next.songs.length === 0) throw new Error(`catalog ${this.source.location} has no usable songs`);
        this.accept(next);
      } catch (err) {
        this.emit('refreshFailed', err instanceof Error ? err : new Error(String(err)));
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private accept(parsed: ParsedCatalog): void {
    this.catalog = new Catalog(parsed.songs);
    this.emit('updated', parsed.songs.length, parsed.problems);
  }
}
