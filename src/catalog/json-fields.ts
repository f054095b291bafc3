/** Reading untrusted catalog JSON: parse errors and bad fields become messages naming what is wrong. */

export function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A required non-empty string field, trimmed. */
export function text(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !v.trim()) throw new Error(`"${key}" must be a non-empty string`);
  return v.trim();
}

/** A list of strings, trimmed, empty ones dropped. */
export function textList(o: Record<string, unknown>, key: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`"${key}" must be a list of strings`);
  return v.map((x: string) => x.trim()).filter(Boolean);
}
