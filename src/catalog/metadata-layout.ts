import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConditionalFetch, isHttpUrl } from './conditional-fetch';
import { isObject, parseJson, text, textList } from './json-fields';
import { songId, type ParsedCatalog } from './manifest';
import type { Song } from './song';
import type { CatalogSource } from './source';

/**
 * The per-language layout of the existing CDN catalogs:
 *
 *   <base>/music/<Language>/metadata.json   {"Baby Shark Dance": {"romanized": "...",
 *                                             "filename": "Baby Shark Dance.mp3",
 *                                             "alternatives": ["baby shark", "shark song"]}}
 *   <base>/music/<Language>/<filename>      the audio
 *
 * A song's URL is the media base + the URL-encoded `music/<Language>/<filename>`, exactly as the
 * deployments this replaces built it, so existing catalogs work unchanged.
 */
export interface MetadataLayoutOptions {
  /** Where `music/<Language>/metadata.json` live: an http(s) base URL or a local directory. */
  location: string;
  /** What song URLs are built on (the CDN); empty: `location`. */
  mediaBaseUrl?: string;
  /** Languages to load (folder names); empty: discover them (see `discoverLanguages`). */
  languages?: string[];
  timeoutMs?: number;
}

/** The index a catalog may publish to list its languages: `["English","Hindi"]` or `{"languages":[...]}`. */
export const LANGUAGE_INDEX = 'music/languages.json';

/**
 * Parses one language's metadata.json. `romanized` and `alternatives` become aliases (search finds
 * the song by them). Optional extras: `genre`/`genres`, `duration_ms`, `id`. A bad entry is
 * reported and skipped.
 */
export function parseLanguageMetadata(doc: unknown, language: string, mediaBase: string): ParsedCatalog {
  const where = `music/${language}/metadata.json`;
  if (!isObject(doc)) throw new Error('not an object of songs by title');
  const songs: Song[] = [];
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const [rawTitle, entry] of Object.entries(doc)) {
    try {
      const title = rawTitle.trim();
      if (!title) throw new Error('empty title');
      if (!isObject(entry)) throw new Error('not an object');
      const filename = text(entry, 'filename');
      const aliases = [
        ...(entry.romanized !== undefined && entry.romanized !== '' ? [text(entry, 'romanized')] : []),
        ...(entry.alternatives !== undefined ? textList(entry, 'alternatives') : []),
      ].filter((a) => a.toLowerCase() !== title.toLowerCase());
      const genres = entry.genres !== undefined ? textList(entry, 'genres') : entry.genre !== undefined ? [text(entry, 'genre')] : [];
      const id = entry.id !== undefined ? text(entry, 'id') : songId(language, title);
      if (ids.has(id)) throw new Error(`duplicate id "${id}"`);
      const song: Song = { id, title, aliases: [...new Set(aliases)], language, genres, url: mediaUrl(mediaBase, language, filename) };
      if (entry.duration_ms !== undefined) {
        if (typeof entry.duration_ms !== 'number' || !(entry.duration_ms > 0)) throw new Error('"duration_ms" must be a positive number');
        song.durationMs = entry.duration_ms;
      }
      ids.add(id);
      songs.push(song);
    } catch (err) {
      problems.push(`${where}: "${rawTitle}": ${(err as Error).message}`);
    }
  }
  return { songs, problems };
}

/**
 * `<base>/music/<Language>/<filename>`: for an http(s) base, the path URL-encoded like Python's
 * `urllib.parse.quote` (everything but letters, digits, `_.-~` and `/`), so the URLs are the same
 * as the ones the CDN already serves; for a local base, a file path.
 */
export function mediaUrl(base: string, language: string, filename: string): string {
  if (!isHttpUrl(base)) return join(base, 'music', language, filename);
  return `${base.replace(/\/+$/, '')}/${quotePath(`music/${language}/${filename}`)}`;
}

export function quotePath(path: string): string {
  return path
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * Loads every language's metadata.json. Refreshes are conditional over HTTP (ETag /
 * If-Modified-Since, per language). A language that fails is reported and, when it loaded before,
 * kept as it was; the load fails only when no language could be loaded at all.
 */
export class MetadataLayoutSource implements CatalogSource {
  readonly location: string;
  private readonly mediaBase: string;
  /** The last good parse of each language. */
  private readonly copies = new Map<string, ParsedCatalog>();
  /** Per language over HTTP: its conditional fetch (validators of the last good copy). */
  private readonly documents = new Map<string, ConditionalFetch>();
  private lastLanguages = '';

  constructor(private readonly opts: MetadataLayoutOptions) {
    this.location = opts.location;
    this.mediaBase = opts.mediaBaseUrl || opts.location;
  }

  async load(): Promise<ParsedCatalog | 'unchanged'> {
    const languages = await this.languages();
    if (languages.length === 0) throw new Error(`catalog ${this.location}: no languages (set catalog.languages or publish ${LANGUAGE_INDEX})`);
    const problems: string[] = [];
    const results = await Promise.all(languages.map((lang) => this.loadLanguage(lang).catch((err: unknown) => err as Error)));
    let changed = languages.join('\n') !== this.lastLanguages;
    const songs: Song[] = [];
    results.forEach((r, i) => {
      const lang = languages[i]!;
      if (r instanceof Error) {
        const kept = this.copies.has(lang);
        problems.push(`music/${lang}/metadata.json: ${r.message}; ${kept ? 'keeping the last good copy' : 'language skipped'}`);
        if (!kept) return;
      } else if (r) changed = true;
      const copy = this.copies.get(lang)!;
      songs.push(...copy.songs);
      problems.push(...copy.problems);
    });
    // Nothing loaded: a failed refresh (the store keeps its last good copy) or a failed start.
    if (results.every((r) => r instanceof Error)) throw new Error(`catalog ${this.location}: no language could be loaded: ${problems.join('; ')}`);
    this.lastLanguages = languages.join('\n');
    if (!changed && !results.some((r) => r instanceof Error)) return 'unchanged';
    return { songs, problems };
  }

  /** The configured languages, else the index, else (local) the folders under music/. */
  private async languages(): Promise<string[]> {
    if (this.opts.languages?.length) return this.opts.languages;
    const index = await this.fetchText(LANGUAGE_INDEX).catch((err: unknown) => err as Error);
    if (typeof index === 'string') return parseLanguageIndex(parseJson(index, LANGUAGE_INDEX));
    if (isHttpUrl(this.location)) throw new Error(`catalog ${this.location}: cannot read ${LANGUAGE_INDEX} (${index.message}); set catalog.languages`);
    const dir = join(this.location, 'music');
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'metadata.json'))).map((e) => e.name).sort();
  }

  /** True when the language changed, false when it is as before (HTTP 304). */
  private async loadLanguage(language: string): Promise<boolean> {
    const path = `music/${language}/metadata.json`;
    const parse = (body: string) => parseLanguageMetadata(parseJson(body, 'the file'), language, this.mediaBase);
    if (!isHttpUrl(this.location)) {
      this.copies.set(language, parse(await readFile(join(this.location, path), 'utf8')));
      return true;
    }
    let document = this.documents.get(language);
    if (!document) this.documents.set(language, (document = new ConditionalFetch(this.url(path), this.opts.timeoutMs)));
    const parsed = await document.fetch(parse);
    if (parsed === 'unchanged') {
      if (!this.copies.has(language)) throw new Error('HTTP 304 without a copy to keep');
      return false;
    }
    this.copies.set(language, parsed);
    return true;
  }

  private async fetchText(path: string): Promise<string> {
    if (!isHttpUrl(this.location)) return readFile(join(this.location, path), 'utf8');
    const res = await fetch(this.url(path), { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.text();
  }

  private url(path: string): string {
    return `${this.location.replace(/\/+$/, '')}/${quotePath(path)}`;
  }
}

export function parseLanguageIndex(doc: unknown): string[] {
  const list = isObject(doc) ? doc.languages : doc;
  if (!Array.isArray(list) || !list.every((l) => typeof l === 'string' && l.trim() && !/[/\\]/.test(l))) {
    throw new Error(`${LANGUAGE_INDEX} must be a list of language folder names, or {"languages": [...]}`);
  }
  return [...new Set(list.map((l: string) => l.trim()))];
}
