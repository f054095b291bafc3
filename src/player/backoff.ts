/**
 * Delay before retry number `attempt` (0-based) of a source that is down: "full jitter" — uniform
 * between 0 and a ceiling that doubles from `baseMs` up to `maxMs` — so rooms whose source broke
 * at the same moment do not retry in step.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
