/**
 * Keeps the `max` lowest-ranked items of a stream (and counts them all), in bounded memory: the
 * report lists the first problems in file order even when some of them (seq problems of sessions
 * tracked on disk) are only found at the end of the run.
 */
interface Entry<T> {
  r1: number;
  r2: number;
  v: T;
}

const before = <T>(a: Entry<T>, b: Entry<T>): number => a.r1 - b.r1 || a.r2 - b.r2;

export class RankedList<T> {
  private items: Array<Entry<T>> = [];
  /** Once trimmed, anything ranked after this cannot make the list. */
  private cutoff: Entry<T> | undefined;
  total = 0;

  constructor(private readonly max: number) {}

  add(r1: number, r2: number, v: T): void {
    this.total++;
    if (this.max <= 0) return;
    const e = { r1, r2, v };
    if (this.cutoff && before(e, this.cutoff) >= 0) return;
    this.items.push(e);
    if (this.items.length >= 2 * this.max) this.trim();
  }

  private trim(): void {
    this.items.sort(before);
    if (this.items.length > this.max) {
      this.items.length = this.max;
      this.cutoff = this.items[this.max - 1];
    }
  }

  /** The kept items, lowest rank first. */
  list(): T[] {
    this.trim();
    return this.items.map((e) => e.v);
  }
}
