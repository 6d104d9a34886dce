/**
 * @module The change streams of this process: the shared followers they read (entities and
 * categories databases), how many streams each caller holds (bounded: 429 beyond), and every open
 * stream, so that shutdown can end them instead of waiting for clients to leave.
 */
import { OcciError } from '../errors.ts';
import type { ChangesFollower } from '../store/changes-follower.ts';
import type { EntityDoc } from '../store/entity-store.ts';
import type { Category } from '../model/category.ts';

/** A category document of the categories database, as the category store writes it. */
export interface CategoryDoc {
  _id: string;
  _rev?: string;
  type?: string;
  category?: Category;
}

/** Something to end at shutdown. */
export interface OpenStream {
  end(): void;
}

/** The process's change streams. */
export class WatchHub {
  readonly #perCaller = new Map<string, number>();
  readonly #open = new Set<OpenStream>();

  constructor(
    readonly entities: ChangesFollower<EntityDoc>,
    readonly categories: ChangesFollower<CategoryDoc>,
    readonly maxPerCaller: number,
  ) {}

  /**
   * Admits one more stream for `caller`; call the returned function when it closes.
   *
   * @throws OcciError `too-many-requests` (429) when the caller already holds the maximum
   */
  admit(caller: string, stream: OpenStream): () => void {
    const held = this.#perCaller.get(caller) ?? 0;
    if (held >= this.maxPerCaller) {
      throw new OcciError('too-many-requests', `you already have ${held} open change streams, the most one caller may hold; close one first`);
    }
    this.#perCaller.set(caller, held + 1);
    this.#open.add(stream);
    let admitted = true;
    return () => {
      if (!admitted) return;
      admitted = false;
      this.#open.delete(stream);
      const left = (this.#perCaller.get(caller) ?? 1) - 1;
      if (left > 0) this.#perCaller.set(caller, left);
      else this.#perCaller.delete(caller);
    };
  }

  /** Open streams right now. */
  get size(): number {
    return this.#open.size;
  }

  /** Ends every stream and stops the followers (server shutdown). */
  close(): void {
    for (const stream of [...this.#open]) stream.end();
    this.entities.close();
    this.categories.close();
  }
}
