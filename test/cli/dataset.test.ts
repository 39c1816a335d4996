// `pretext dataset add | ls | show | rm` against a real daemon: a folder of real CIFAR-10
// images uploaded, listed, shown with its skipped files, refused twice, deleted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bufferIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { ExitCode } from '../../clients/ts/exit-codes.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { writeCifarFolder } from '../helpers/image-folder.js';

describe('pretext dataset', () => {
  let d: TestDaemon;
  let tmp: string;
  const cli = async (...args: string[]) => {
    const io = bufferIo({});
    const code = await main(['--addr', d.daemon.address, ...args], io);
    return { code, out: io.stdout(), err: io.stderr() };
  };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pretext-cli-ds-'));
    await writeCifarFolder(path.join(tmp, 'my photos'), { count: 80, jpegEvery: 4 });
    fs.writeFileSync(path.join(tmp, 'my photos/labeled/ship/broken.png'), 'not a png');
    // Unicode and spaces in class and file names survive the tar and the import.
    fs.renameSync(
      path.join(tmp, 'my photos/labeled/cat'),
      path.join(tmp, 'my photos/labeled/gato negro ñ 猫'),
    );
    const dir = path.join(tmp, 'my photos/labeled/gato negro ñ 猫');
    fs.renameSync(path.join(dir, fs.readdirSync(dir)[0]!), path.join(dir, 'foto número 1 🐈.png'));
    d = await startTestDaemon();
  });
  after(async () => {
    await d.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('add uploads and imports a folder; ls, show, rm', async () => {
    const add = await cli('dataset', 'add', 'mine', path.join(tmp, 'my photos'), '--side', '32');
    assert.equal(add.code, ExitCode.OK, add.err);
    assert.match(
      add.out,
      /dataset mine: 10 classes, \d+ train, \d+ test \(carved, seed 1\), 0 unlabeled, 32×32 px/,
    );
    assert.match(add.out, /1 files skipped/);
    const ls = await cli('dataset', 'ls');
    assert.match(ls.out, /mine\s+10\s+\d+\s+\d+\s+0\s+32\s+1/);
    const show = await cli('dataset', 'show', 'mine');
    assert.match(show.out, /labeled\/ship\/broken.png: cannot be decoded/);
    const showJson = JSON.parse((await cli('dataset', 'show', 'mine', '--json')).out);
    assert.equal(showJson.classNames.length, 10);
    assert.ok(showJson.classNames.includes('gato negro ñ 猫'), showJson.classNames.join(','));
    const again = await cli('dataset', 'add', 'mine', path.join(tmp, 'my photos'));
    assert.equal(again.code, ExitCode.CONFLICT, again.err);
    assert.match(again.err, /already exists/);
    const bad = await cli('dataset', 'add', 'x', path.join(tmp, 'my photos'), '--side', '5000');
    assert.equal(bad.code, ExitCode.INVALID_ARGUMENT);
    // A study on it: the preset's pretext run on the imported dataset (the daemon's dry-run verdict).
    const study = await cli(
      'study',
      'start',
      '--preset',
      'demo',
      '--dataset',
      'mine',
      '--budgets',
      '20',
      '--folds',
      '1',
      '--dry-run',
      '--json',
    );
    assert.equal(study.code, ExitCode.OK, study.err);
    assert.equal(JSON.parse(study.out).study.config.pretext.dataset, 'mine');
    const tooBig = await cli(
      'study',
      'start',
      '--preset',
      'demo',
      '--dataset',
      'mine',
      '--budgets',
      '200',
      '--dry-run',
    );
    assert.equal(tooBig.code, ExitCode.INVALID_ARGUMENT);
    assert.match(tooBig.err, /too large|training images/);
    const rm = await cli('dataset', 'rm', 'mine');
    assert.equal(rm.code, ExitCode.OK, rm.err);
    assert.match((await cli('dataset', 'ls')).out, /no imported datasets/);
    assert.equal((await cli('dataset', 'rm', 'mine')).code, ExitCode.NOT_FOUND);
  });
});
