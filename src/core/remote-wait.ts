/**
 * Turns that are waiting on a remote service (the OpenAI fallback, a query's embedding)
 * in this process. The HTTP backpressure bound counts requests that use this machine's
 * CPU and database; one parked on a remote call for a second uses neither, so the bound
 * lets in one more request for each of them (src/http/backpressure.ts).
 */
let waiting = 0;

/** Runs a remote call, counted as waiting while it is out. */
export async function whileRemote<T>(call: () => Promise<T>): Promise<T> {
  waiting++;
  try {
    return await call();
  } finally {
    waiting--;
  }
}

/** Calls out to remote services now. */
export function remoteWaiting(): number {
  return waiting;
}
