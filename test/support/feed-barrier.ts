/**
 * Waiting for a server's changes feed to catch up, for tests of what the feed keeps current (the
 * read cache, the member index): the echo of a write changes what a cache holds, so an assertion
 * about the cache must not race with the echo of the write before it.
 */
import type { RunningServer } from '../../src/server.ts';

/**
 * Makes `write` put a document at `location`, then waits until `server`'s entities feed delivered
 * it. The feed is ordered: once that fresh write came through, every earlier change has.
 *
 * @throws Error when the feed does not deliver it within `timeoutMs`
 */
export async function feedDelivered(server: RunningServer, location: string, write: () => Promise<void>, timeoutMs: number): Promise<void> {
  let seen!: () => void;
  const arrived = new Promise<void>((resolve) => (seen = resolve));
  // Ids are enough: the barrier does not make the feed read documents it would not otherwise read.
  const unsubscribe = await server.services.watch.entities.subscribe((change) => {
    if (change.id === location) seen();
  }, 'none');
  let timer: NodeJS.Timeout | undefined;
  try {
    await write();
    await Promise.race([arrived, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`the feed did not deliver ${location} within ${timeoutMs} ms`)), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}
