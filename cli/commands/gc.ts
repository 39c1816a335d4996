// `pretext gc`: apply the daemon's retention settings now, or (--dry-run) list what would go.
import { CollectGarbageResponse } from '../../gen/ts/pretext/v1/service.js';
import type { Connection } from '../../clients/ts/connection.js';
import { CliError, ExitCode } from '../../clients/ts/exit-codes.js';
import { formatBytes, table } from '../../clients/ts/format.js';
import type { Io } from '../io.js';
import { json } from './read.js';

export interface GcFlags {
  dryRun?: boolean;
  json?: boolean;
  lastDays?: string;
  stepEvents?: string;
}

function count(v: string | undefined, flag: string, max: number): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new CliError(
      `${flag} "${v.slice(0, 40)}" must be an integer in 1..${max}`,
      ExitCode.INVALID_ARGUMENT,
    );
  }
  return n;
}

export async function gcCommand(conn: Connection, io: Io, opts: GcFlags): Promise<number> {
  const policy = {
    lastCheckpointDays: count(opts.lastDays, '--last-days', 36_500),
    stepEventsPerRun: count(opts.stepEvents, '--step-events', 100_000_000),
  };
  const res = await conn.call(conn.client.collectGarbage, { dryRun: Boolean(opts.dryRun), policy });
  if (opts.json) {
    io.out(json(CollectGarbageResponse.toJSON(res)));
    return ExitCode.OK;
  }
  const p = res.policy;
  const described = [
    p?.lastCheckpointDays ? `last checkpoints of runs ended ${p.lastCheckpointDays}+ days ago` : '',
    p?.stepEventsPerRun ? `step events beyond ${p.stepEventsPerRun} per finished run` : '',
  ].filter(Boolean);
  if (!described.length) {
    io.out(
      'retention keeps everything (start pretextd with --retention-last-days / --retention-step-events, or pass --last-days / --step-events)\n',
    );
    return ExitCode.OK;
  }
  io.out(`policy: ${described.join('; ')}\n`);
  if (!res.items.length) {
    io.out('nothing to remove\n');
    return ExitCode.OK;
  }
  const rows = [
    ['run', 'kind', 'bytes', 'what'],
    ...res.items.map((i) => [i.runId, i.kind, formatBytes(i.bytes), i.detail]),
  ];
  io.out(`${table(rows, 100)}\n`);
  io.out(`${res.dryRun ? 'would remove' : 'removed'} ${res.items.length} items, ${formatBytes(res.bytes)}\n`);
  return ExitCode.OK;
}
