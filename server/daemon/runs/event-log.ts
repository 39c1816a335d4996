// The persistent event log: every event gets a global, strictly increasing sequence number
// (SQLite AUTOINCREMENT), is stored as its protobuf encoding, and is published to live
// subscribers only after it is committed — so a watcher that replays then follows sees every
// event exactly once.
import { EventEmitter } from 'node:events';
import { RunEvent } from '../../../gen/ts/pretext/v1/event.js';
import type { EventPayload } from '../../shared/worker-protocol.js';
import type { Db } from './db.js';

export type EventListener = (event: RunEvent) => void;

export class EventLog {
  private readonly bus = new EventEmitter();
  private readonly insert;
  private readonly selectAll;
  private readonly selectRun;
  private readonly selectMax;

  constructor(db: Db) {
    this.bus.setMaxListeners(0);
    this.insert = db.prepare('INSERT INTO events (run_id, time_ms, kind, data) VALUES (?, ?, ?, ?)');
    this.selectAll = db.prepare('SELECT seq, data FROM events WHERE seq >= ? ORDER BY seq LIMIT ?');
    this.selectRun = db.prepare(
      'SELECT seq, data FROM events WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?',
    );
    this.selectMax = db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events');
  }

  /**
   * Appends an event. Call inside a transaction together with the registry change it
   * describes; `publish` the returned event after the transaction commits.
   */
  append(runId: string, payload: EventPayload, timeMs = Date.now()): RunEvent {
    // The stored bytes leave seq out (it is only known after the insert); `read` puts the
    // row's seq back.
    const data = Buffer.from(RunEvent.encode({ seq: 0, runId, timeUnixMs: timeMs, payload }).finish());
    const info = this.insert.run(runId, timeMs, payload.$case, data);
    return { seq: Number(info.lastInsertRowid), runId, timeUnixMs: timeMs, payload };
  }

  publish(event: RunEvent): void {
    this.bus.emit('event', event);
  }

  /** Events with seq >= fromSeq (one run, or all when runId is empty), at most `limit`. */
  read(runId: string, fromSeq: number, limit: number): RunEvent[] {
    const rows = (
      runId ? this.selectRun.all(runId, fromSeq, limit) : this.selectAll.all(fromSeq, limit)
    ) as Array<{ seq: number; data: Buffer }>;
    return rows.map((r) => ({ ...RunEvent.decode(r.data), seq: r.seq }));
  }

  lastSeq(): number {
    return (this.selectMax.get() as { seq: number }).seq;
  }

  /** Live subscribers (streams, waits, studies, metrics). */
  subscriberCount(): number {
    return this.bus.listenerCount('event');
  }

  subscribe(listener: EventListener): () => void {
    this.bus.on('event', listener);
    return () => this.bus.off('event', listener);
  }
}
