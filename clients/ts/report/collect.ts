// Gathers what a study report needs over the public API (GetStudy, GetRun, StreamMetrics
// history), so the CLI can write a report for a study on a remote daemon.
import type { Metadata } from '@grpc/grpc-js';
import type { EpochMetrics, RunEvent } from '../../../gen/ts/pretext/v1/event.js';
import { type Run, RunState } from '../../../gen/ts/pretext/v1/run.js';
import { type Study, StudyArm } from '../../../gen/ts/pretext/v1/study.js';
import type { PlotPanel } from '../embedding-plot.js';
import { embedWith } from '../models-out.js';
import {
  GetRunRequest,
  type GetRunResponse,
  GetStudyRequest,
  type GetStudyResponse,
  type PretextServiceClient,
  StreamMetricsRequest,
} from '../../../gen/ts/pretext/v1/service.js';
import type { StudyReportInput } from './report.js';

function _unary<Req, Res>(
  fn: (req: Req, md: Metadata, cb: (err: Error | null, res: Res) => void) => unknown,
  req: Req,
  md: Metadata,
) {
  return new Promise<Res>((resolve, reject) => fn(req, md, (err, res) => (err ? reject(err) : resolve(res))));
}

export function historyOf(client: PretextServiceClient, runId: string, md: Metadata): Promise<RunEvent[]> {
  return new Promise((resolve, reject) => {
    const events: RunEvent[] = [];
    const s = client.streamMetrics(
      StreamMetricsRequest.fromPartial({ runId, historyOnly: true, skipSteps: true }),
      md,
    );
    s.on('data', (r: { event?: RunEvent }) => r.event && events.push(r.event));
    s.on('end', () => resolve(events));
    s.on('error', reject);
  });
}

export async function collectStudyReportInput(
  client: PretextServiceClient,
  studyId: string,
  md: Metadata,
): Promise<StudyReportInput> {
  const { study } = await new Promise<GetStudyResponse>((resolve, reject) =>
    client.getStudy(GetStudyRequest.fromPartial({ studyId }), md, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
  if (!study) throw new Error(`study ${studyId} not returned`);
  const ids = [study.pretextRunId, ...study.cells.flatMap((c) => c.runIds)];
  const runs: Run[] = [];
  for (const id of [...new Set(ids)]) {
    const { run } = await new Promise<GetRunResponse>((resolve, reject) =>
      client.getRun(GetRunRequest.fromPartial({ runId: id }), md, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
    if (run) runs.push(run);
  }
  // The newest value of each epoch (a resumed run may repeat the epoch it was interrupted in).
  const byEpoch = new Map<number, EpochMetrics>();
  for (const e of await historyOf(client, study.pretextRunId, md)) {
    if (e.payload?.$case === 'epoch') byEpoch.set(e.payload.epoch.epoch, e.payload.epoch);
  }
  const embeddings = await embeddingPanels(client, md, study, runs);
  return {
    study,
    runs,
    pretextEpochs: [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch),
    ...embeddings,
  };
}

/** Test images the report's embedding picture shows per run. */
export const REPORT_EMBED_IMAGES = 500;

/**
 * Test embeddings of the pretext run's backbone and of the SL baseline at the largest label
 * budget, for the side-by-side picture. Skipped, with the reason, when either cannot be had.
 */
async function embeddingPanels(
  client: PretextServiceClient,
  md: Metadata,
  study: Study,
  runs: Run[],
): Promise<Pick<StudyReportInput, 'embeddings' | 'embeddingsNote'>> {
  const succeeded = (id: string) => runs.find((r) => r.id === id && r.state === RunState.RUN_STATE_SUCCEEDED);
  const pretext = succeeded(study.pretextRunId);
  const sl = study.cells
    .filter((c) => c.arm === StudyArm.STUDY_ARM_SL)
    .sort((a, b) => b.nLabels - a.nLabels)
    .flatMap((c) => c.runIds.map((id) => ({ run: succeeded(id), nLabels: c.nLabels })))
    .find((x) => x.run !== undefined);
  if (!pretext || !sl?.run) return { embeddingsNote: 'no finished pretext run and SL run to embed yet' };
  try {
    const panels: PlotPanel[] = [];
    for (const [run, title] of [
      [pretext, `SSL backbone (${pretext.method}, ${pretext.id})`],
      [sl.run, `SL from scratch, ${sl.nLabels} labels (${sl.run.id})`],
    ] as const) {
      const e = await embedWith(client, md, {
        runId: run.id,
        source: {
          $case: 'split',
          split: { dataset: '', split: 'test', offset: 0, limit: REPORT_EMBED_IMAGES },
        },
      });
      panels.push({
        title,
        embeddings: e.embeddings,
        dim: e.dim,
        labels: e.labels,
        classNames: e.info.model?.classNames ?? [],
      });
    }
    return { embeddings: panels };
  } catch (err) {
    return { embeddingsNote: `embeddings unavailable: ${err instanceof Error ? err.message : String(err)}` };
  }
}
