import type { CheckpointPayload } from './checkpoint.js';

/** A signed checkpoint as handed to `onCheckpoint`. */
export interface ShippedCheckpoint {
  jws: string;
  payload: CheckpointPayload;
}

export interface CheckpointShippingOptions {
  /** One delivery attempt counts as failed after this long (default 10000 ms). */
  timeoutMs?: number;
  /** Attempts per checkpoint before it is given up (default 5). */
  attempts?: number;
  /** Wait before the first retry, doubled after each (default 1000 ms). */
  backoffMs?: number;
  /** Checkpoints waiting to be shipped; beyond this the newest is not queued (default 1000). */
  maxPending?: number;
}

/**
 * Ships checkpoints to `onCheckpoint` off the write path: in order, one at a time, each attempt
 * bounded by a timeout, retried with backoff a bounded number of times. A receiver that fails or
 * hangs never blocks or fails the log (guarded routes keep answering); every failure goes to
 * `onError`, so shipping problems are announced, not swallowed. The checkpoints are already
 * stored locally: what is lost when shipping gives up is only the outside copy.
 */
export function checkpointShipper(
  deliver: (checkpoint: ShippedCheckpoint) => void | Promise<void>,
  onError: (error: Error) => void,
  options: CheckpointShippingOptions = {},
  events: { shipped?: () => void; failed?: (error: Error) => void } = {},
) {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const attempts = Math.max(1, options.attempts ?? 5);
  const backoffMs = options.backoffMs ?? 1000;
  const maxPending = options.maxPending ?? 1000;
  const pending: ShippedCheckpoint[] = [];
  let running: Promise<void> | undefined;
  let stopped = false;

  async function attempt(checkpoint: ShippedCheckpoint): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => deliver(checkpoint)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`onCheckpoint did not complete within ${timeoutMs} ms`)),
            timeoutMs,
          );
          timer.unref();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function run(): Promise<void> {
    while (pending.length > 0 && !stopped) {
      const checkpoint = pending[0] as ShippedCheckpoint;
      for (let n = 1; n <= attempts; n++) {
        try {
          await attempt(checkpoint);
          events.shipped?.();
          break;
        } catch (error) {
          events.failed?.(error as Error);
          const last = n === attempts;
          onError(
            new Error(
              `checkpoint shipping failed for seq ${checkpoint.payload.lastSeq} (attempt ${n}/${attempts}${last ? ', given up' : ''}): ${(error as Error)?.message ?? String(error)}`,
            ),
          );
          if (last || stopped) break;
          await sleep(backoffMs * 2 ** (n - 1));
        }
      }
      pending.shift();
    }
    running = undefined;
  }

  return {
    /** Queues a checkpoint for shipping and returns at once. */
    ship(checkpoint: ShippedCheckpoint): void {
      if (stopped) return;
      if (pending.length >= maxPending) {
        onError(new Error(`checkpoint shipping queue full: seq ${checkpoint.payload.lastSeq} not shipped`));
        return;
      }
      pending.push(checkpoint);
      running ??= run();
    },
    get pending(): number {
      return pending.length;
    },
    /**
     * Waits up to `maxWaitMs` for the queue to empty, then stops shipping; reports what is left.
     * Used by `close()`: shutting down is never held up by a receiver that hangs.
     */
    async stop(maxWaitMs = timeoutMs): Promise<void> {
      if (running) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          running,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs))),
        ]);
        clearTimeout(timer);
      }
      stopped = true;
      if (pending.length > 0) {
        onError(new Error(`${pending.length} checkpoint(s) not shipped at close`));
        pending.length = 0;
      }
    },
  };
}

export type CheckpointShipper = ReturnType<typeof checkpointShipper>;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
