// The scheduler's queue, kept in memory so that its work per event does not grow with the
// number of queued runs. A run's place is fixed when it is created (its row number), so a
// run that comes back to the queue — resumed after a crash or a restart — goes back to where
// it was, ahead of every run queued after it. Runs whose parent cannot serve them yet are
// parked under the parent and come back when the parent changes.

export interface QueueEntry {
  id: string;
  /** Smaller = earlier; the run's row number. */
  place: number;
  /** Whether the run needs its parent to succeed (downstream) or only a checkpoint (evaluation). */
  needsSuccess?: boolean;
}

/** A binary min-heap on `place`. */
class PlaceHeap {
  private readonly items: QueueEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  push(e: QueueEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.place <= e.place) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = e;
  }

  pop(): QueueEntry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r]!.place < a[l]!.place ? r : l;
      if (a[c]!.place >= last.place) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

export class RunQueue {
  /** Every queued run (ready or parked) and its place. */
  private readonly places = new Map<string, number>();
  private readonly ready = new PlaceHeap();
  private readonly parked = new Map<string, QueueEntry[]>();

  get size(): number {
    return this.places.size;
  }

  has(id: string): boolean {
    return this.places.has(id);
  }

  add(id: string, place: number): void {
    if (this.places.get(id) === place) return;
    this.places.set(id, place);
    this.ready.push({ id, place });
  }

  /** The run left the queue (started, cancelled, failed); its heap entry is dropped lazily. */
  remove(id: string): void {
    this.places.delete(id);
  }

  /** The earliest queued run that is not parked; removes it from the ready heap only. */
  next(): QueueEntry | undefined {
    for (;;) {
      const e = this.ready.pop();
      if (!e) return undefined;
      if (this.places.get(e.id) === e.place) return e;
    }
  }

  /** Sets a run aside until its parent changes. */
  park(parentId: string, entry: QueueEntry): void {
    const list = this.parked.get(parentId);
    if (list) list.push(entry);
    else this.parked.set(parentId, [entry]);
  }

  /** Returns parked runs of `parentId` to the ready heap; true when any came back. */
  release(parentId: string, which: 'all' | 'checkpoint'): boolean {
    const list = this.parked.get(parentId);
    if (!list) return false;
    const keep: QueueEntry[] = [];
    let released = false;
    for (const e of list) {
      if (which === 'checkpoint' && e.needsSuccess) keep.push(e);
      else if (this.places.get(e.id) === e.place) {
        this.ready.push(e);
        released = true;
      }
    }
    if (keep.length) this.parked.set(parentId, keep);
    else this.parked.delete(parentId);
    return released;
  }
}
