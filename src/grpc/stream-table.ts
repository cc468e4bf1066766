/**
 * The open streams of one HTTP/2 session by id, with the part of Map's interface node:http2 uses
 * on its own table (get, set, delete, size, forEach), stored so that a finished stream leaves no
 * reference behind.
 *
 * Why not a Map: when V8 rehashes a Map (it does so every few hundred insertions as deleted
 * entries pile up), the old table keeps its entries. Once a session's table has lived through two
 * young-generation GCs it is in the old generation, and the stale copy it leaves then holds the
 * streams that were open at that moment alive through every later scavenge, until the next
 * mark-compact: those streams and all they reference are promoted (docs/performance.md). Here
 * the slots are an array we overwrite on delete and clear when we grow it, so no stale slot
 * survives.
 *
 * Client-opened ids are odd and increasing, so `id >>> 1` modulo the capacity spreads open
 * streams over the slots; a collision with a stream still open grows the table (up to
 * MAX_SLOTS), and past that goes to a small Map.
 */
export class StreamTable<V> {
  /** Slots for a session that opens few streams at once: an idle connection costs little. */
  static readonly INITIAL_SLOTS = 16;
  static readonly MAX_SLOTS = 1024;

  size = 0;
  private ids: number[];
  private values: Array<V | undefined>;
  private overflow: Map<number, V> | undefined;

  constructor(slots: number = StreamTable.INITIAL_SLOTS) {
    this.ids = new Array<number>(slots).fill(0);
    this.values = new Array<V | undefined>(slots).fill(undefined);
  }

  get(id: number): V | undefined {
    const slot = (id >>> 1) & (this.ids.length - 1);
    if (this.ids[slot] === id) return this.values[slot];
    return this.overflow?.get(id);
  }

  set(id: number, value: V): this {
    for (;;) {
      const slot = (id >>> 1) & (this.ids.length - 1);
      const held = this.ids[slot];
      if (held === id) {
        this.values[slot] = value;
        return this;
      }
      if (held === 0 && !this.overflow?.has(id)) {
        this.ids[slot] = id;
        this.values[slot] = value;
        this.size++;
        return this;
      }
      if (held === 0 || this.ids.length >= StreamTable.MAX_SLOTS) break;
      this.grow();
    }
    this.overflow ??= new Map();
    if (!this.overflow.has(id)) this.size++;
    this.overflow.set(id, value);
    return this;
  }

  delete(id: number): boolean {
    const slot = (id >>> 1) & (this.ids.length - 1);
    if (this.ids[slot] === id) {
      this.ids[slot] = 0;
      this.values[slot] = undefined;
      this.size--;
      return true;
    }
    if (this.overflow?.delete(id)) {
      this.size--;
      return true;
    }
    return false;
  }

  /** Visits the entries open when called; one deleted by an earlier callback is skipped, as Map#forEach does. */
  forEach(callback: (value: V, id: number, table: this) => void): void {
    const entries: Array<[number, V]> = [];
    for (let slot = 0; slot < this.ids.length; slot++) {
      const id = this.ids[slot] as number;
      if (id !== 0) entries.push([id, this.values[slot] as V]);
    }
    if (this.overflow) entries.push(...this.overflow);
    for (const [id, value] of entries) if (this.get(id) === value) callback(value, id, this);
  }

  /** Twice the slots; the old array is cleared so that, old or young, it holds no stream. */
  private grow(): void {
    const { ids, values } = this;
    this.ids = new Array<number>(ids.length * 2).fill(0);
    this.values = new Array<V | undefined>(ids.length * 2).fill(undefined);
    const size = this.size;
    this.size = 0;
    for (let slot = 0; slot < ids.length; slot++) {
      const id = ids[slot] as number;
      if (id !== 0) this.set(id, values[slot] as V);
    }
    values.fill(undefined);
    this.size = size;
  }
}
