/**
 * A growing list of observations (log lines, frames, messages) that tests wait on by condition,
 * never by sleeping: `until` resolves as soon as an item (or the whole list) satisfies it.
 */
export class Observations<T> {
  readonly items: T[] = [];
  private waiters: Array<() => void> = [];

  push(item: T): void {
    this.items.push(item);
    const ws = this.waiters;
    this.waiters = [];
    ws.forEach((w) => w());
  }

  /** Waits for the first item at index >= `from` matching `pred`; returns it. */
  async next(pred: (item: T) => boolean, what: string, timeoutMs = 15000, from = 0): Promise<T> {
    let found: T | undefined;
    await this.until(
      (items) => {
        for (let i = from; i < items.length; i++) {
          if (pred(items[i]!)) {
            found = items[i];
            return true;
          }
        }
        return false;
      },
      what,
      timeoutMs,
    );
    return found as T;
  }

  /** Waits until `cond` over all items holds. */
  until(cond: (items: T[]) => boolean, what: string, timeoutMs = 15000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!cond(this.items)) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const listener = () => {
        if (!check()) this.waiters.push(listener);
      };
      listener();
    });
  }
}
