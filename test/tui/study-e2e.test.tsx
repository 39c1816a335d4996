// The study view against an in-process daemon (tiny real worker) over real gRPC: a study picked
// from the studies list fills its table in cell by cell from the study's event stream and ends
// with its final state; a study opened by id is cancelled from the keyboard; an unknown study
// and a daemon that goes away are shown, not fatal.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { render } from 'ink-testing-library';
import { StartStudyRequest } from '../../gen/ts/pretext/v1/service.js';
import { StudyArm } from '../../gen/ts/pretext/v1/study.js';
import { Connection } from '../../clients/ts/connection.js';
import { Dashboard } from '../../client-tui/Dashboard.js';
import { waitFor } from '../cli/helpers.js';
import { startTestDaemon, type TestDaemon, tinyPretext } from '../helpers/daemon.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const KEY = { enter: '\r', esc: '\u001B' };

const tinyStudy = (budgets: number[], name: string) =>
  StartStudyRequest.fromPartial({
    name,
    config: {
      pretext: tinyPretext({ epochs: 2, steps: 2 }).config,
      labelBudgets: budgets,
      folds: 1,
      downstream: { training: { epochs: 2, learningRate: 0.01 }, testLimit: 100 },
    },
  });

/** A row of the study table as it appears on screen: its label, then one cell per budget. */
const row = (label: string, cells: string[]) =>
  new RegExp(`${label.replace(/[+%]/g, (c) => `\\${c}`)}\\s+${cells.join('\\s+')}\\s*\\n`);

/** The table's cells in a frame (rows from the header to the gain row; labels dropped). */
function tableCells(frame: string): string[] {
  const lines = frame.split('\n');
  const start = lines.findIndex((l) => l.startsWith('n_labels'));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('gain'));
  return lines.slice(start + 1, end + 1).flatMap((l) =>
    l
      .trim()
      .split(/\s{2,}/)
      .slice(1),
  );
}

describe('study view against a real daemon', () => {
  let d: TestDaemon;
  let conn: Connection;
  before(async () => {
    d = await startTestDaemon();
    conn = new Connection({ addr: d.daemon.address });
  });
  after(async () => {
    conn.close();
    await d.stop();
  });

  function mount(studyId?: string) {
    const app = render(<Dashboard conn={conn} throttleMs={30} studyId={studyId} />);
    const frame = () => strip(app.lastFrame() ?? '');
    const until = (re: RegExp, what = String(re), ms = 60_000) =>
      waitFor(() => (re.test(frame()) ? true : undefined), ms, `${what} in\n${frame()}`);
    const press = (...keys: string[]) => {
      for (const k of keys) app.stdin.write(k);
    };
    return { app, frame, until, press };
  }

  it('fills the table in cell by cell from study events and shows the final state', {
    timeout: 120_000,
  }, async () => {
    const { study } = await conn.call(conn.client.startStudy, tinyStudy([100, 200], 'tui study'));
    assert.ok(study);
    const { app, frame, until, press } = mount();
    await until(/● connected/);
    press('s');
    // (At 100 columns the 31-character study id leaves the name column 8 characters: "tui stu…".)
    await until(new RegExp(`▸ ${study.id}\\s+running\\s+\\S+ \\d/5\\s+100,200 × 1\\s+tui stu`));
    press(KEY.enter);
    await until(/n_labels\s+100\s+200/, 'the study table');
    await until(/final: succeeded/, 'the final state', 90_000);
    const text = frame();

    // Every cell of the final table holds the daemon's figures.
    const { study: done } = await conn.call(conn.client.getStudy, { studyId: study.id });
    assert.ok(done);
    const cell = (n: number, arm: StudyArm) => done.cells.find((c) => c.nLabels === n && c.arm === arm);
    const fig = (n: number, arm: StudyArm, what: 'loss' | 'acc') => {
      const c = cell(n, arm);
      assert.ok(c && c.foldsDone === 1);
      return what === 'loss' ? c.testLossMean.toFixed(3) : (c.testAccuracyMean * 100).toFixed(2);
    };
    const SL = StudyArm.STUDY_ARM_SL;
    const FT = StudyArm.STUDY_ARM_SSL_FINE_TUNE;
    assert.match(text, row('SL loss', [fig(100, SL, 'loss'), fig(200, SL, 'loss')]));
    assert.match(text, row('SL acc %', [fig(100, SL, 'acc'), fig(200, SL, 'acc')]));
    assert.match(text, row('SSL+SL loss', [fig(100, FT, 'loss'), fig(200, FT, 'loss')]));
    assert.match(text, row('SSL+SL acc %', [fig(100, FT, 'acc'), fig(200, FT, 'acc')]));
    const gain = (n: number) => {
      const g = done.gains.find((x) => x.nLabels === n)!.accuracyGainMean * 100;
      return `${g >= 0 ? '\\+' : ''}${g.toFixed(2)}`;
    };
    assert.match(text, row('gain SSL+SL−SL', [gain(100), gain(200)]));
    assert.match(text, /runs █+ 5\/5 ended/);
    assert.match(text, /pretext succeeded r-/);

    // Along the way: first no figures at all, then some cells filled while others waited.
    const tables = app.frames.map((f) => tableCells(strip(f))).filter((c) => c.length === 10);
    const filled = (cells: string[]) => cells.filter((c) => /^[-+]?\d+\.\d+/.test(c)).length;
    const waiting = (cells: string[]) => cells.filter((c) => /^[·…]$/.test(c)).length;
    assert.ok(
      tables.some((c) => filled(c) === 0 && waiting(c) === 10),
      'a frame with every cell pending',
    );
    assert.ok(
      tables.some((c) => filled(c) > 0 && waiting(c) > 0),
      'a frame with some cells filled and others pending',
    );
    assert.equal(filled(tables.at(-1) ?? []), 10, 'every cell filled in the end');
    // Cells filled in as runs ended, not all at once: several distinct fill levels.
    const levels = new Set(tables.map(filled));
    assert.ok(levels.size >= 3, `fill levels seen: ${[...levels].join(', ')}`);
    press(KEY.esc);
    await until(new RegExp(`▸ ${study.id}\\s+succeeded\\s+\\S+ 5/5`), 'back in the studies list');
    press('s');
    await until(/ID\s+STATE\s+KIND/, 'the runs list');
    app.unmount();
  });

  it('opens a study by id, cancels it after confirmation, and survives an unknown id and the daemon leaving', {
    timeout: 120_000,
  }, async () => {
    const missing = mount('s-20990101-000000');
    await missing.until(/study s-20990101-000000\n.*disconnected.*does not exist/, 'the unknown study');
    missing.app.unmount();

    const { study } = await conn.call(conn.client.startStudy, tinyStudy([100, 200, 250], 'to cancel'));
    assert.ok(study);
    const { app, frame, until, press } = mount(study.id);
    await until(/n_labels\s+100\s+200\s+250/, 'the study table');
    assert.match(frame(), new RegExp(`${study.id} running · to cancel · SL`));
    press('c');
    await until(new RegExp(`Cancel study ${study.id} and its unfinished runs\\? y/N`));
    press('n');
    await until(/not cancelled/);
    press('c');
    await until(/Cancel study/);
    press('y');
    await until(new RegExp(`cancelling study ${study.id}`));
    await until(/final: cancelled/, 'the cancelled state', 30_000);
    // Cells that will never get a figure say so.
    await until(row('SL acc %', ['\\S+', '\\S+', '—']), 'the cells without figures');
    press('c');
    await until(/already ended cancelled; nothing to cancel/);

    // The daemon goes away: the view stays, the link says so.
    await d.daemon.close();
    await until(/reconnecting/, 'the reconnecting link', 30_000);
    assert.match(frame(), /final: cancelled/);
    app.unmount();
  });
});
