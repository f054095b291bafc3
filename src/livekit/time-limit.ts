/** A wait that gave up; what it waited for may still complete later. */
export class TimeLimitError extends Error {}

/**
 * `work`, or a TimeLimitError once `ms` have passed, whichever comes first. The timer never
 * outlives the race. `work` is not cancelled (rtc-node's calls cannot be), so callers that give up
 * must still own what it produces.
 */
export function withTimeLimit<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}
