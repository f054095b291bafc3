/** A wait that gave up; what it waited for may still complete later. */
export class TimeLimitError extends Error {}

/**
 * `work`, or a TimeLimitError once `ms` have passed, whichever comes first. The timer never
 * outlives the race. `work` is not cancelled (rtc-node's calls cannot be), so callers that give up
 * must still own what it produces; a late rejection of it is swallowed (nobody awaits it any more,
 * and it must not become an unhandled rejection).
 */
export function withTimeLimit<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(`${what} timed out after ${ms} ms`)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}
