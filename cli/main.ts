// `pretext`: the scriptable client of pretextd. `main` takes argv and an Io and returns the
// exit code, so tests run it in-process; bin/pretext.js wires it to the real process.
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import {
  Connection,
  type ConnectionFlags,
  explainError,
  resolveConnection,
} from '../clients/ts/connection.js';
import { CliError, EXIT_CODE_HELP, ExitCode } from '../clients/ts/exit-codes.js';
import { datasetAdd, datasetList, datasetRemove, datasetShow } from './commands/dataset.js';
import { gcCommand } from './commands/gc.js';
import { infoCommand, runsCommand, showCommand } from './commands/read.js';
import {
  studyCancel,
  studyCompare,
  studyList,
  studyReport,
  studyShow,
  studyStart,
  studyWatch,
} from './commands/study.js';
import { watchCommand } from './commands/watch.js';
import { embedCommand, exportCommand, predictCommand } from './commands/models-out.js';
import {
  EMBED_SPLITS,
  EXPORT_FORMATS,
  IMAGE_RESIZE_RULE,
  MAX_IMAGES_PER_CALL,
  MAX_TOP_K,
} from '../server/shared/contract/models-out.js';
import { IMPORT } from '../server/shared/contract/datasets.js';
import {
  CONTRASTIVE_FIELDS,
  DOWNSTREAM_FIELDS,
  SELECTION_NAMES,
  downstreamRequest,
  EVAL_FIELDS,
  evaluateRequest,
  type FieldSpec,
  flagOf,
  PRETEXT_FIELDS,
  pretextRequest,
  studyRequest,
  TRAINING_FIELDS,
} from '../clients/ts/requests.js';
import {
  cancelCommand,
  downstreamStart,
  evalCommand,
  pretextStart,
  resumeCommand,
} from './commands/write.js';
import { type Io, processIo } from './io.js';

/** Adds flags for a field group. Values stay strings until requests.ts parses them. */
function addFields(cmd: Command, specs: readonly FieldSpec[]): Command {
  for (const s of specs) {
    if (s.type === 'bool') {
      cmd.option(`--${s.flag}`, s.help);
      cmd.option(`--no-${s.flag}`, `the opposite of --${s.flag}`);
    } else {
      const names = s.names ? ` (${Object.keys(s.names).join(' | ')})` : '';
      const arg = s.type === 'int' || s.type === 'float' ? 'n' : 'name';
      cmd.addOption(new Option(`--${s.flag} <${arg}>`, s.help + names));
    }
  }
  return cmd;
}

const DRY_RUN =
  "ask the daemon's verdict: print the run exactly as it would be stored (every default filled in); create nothing";

/** The daemon's field errors, each with the flag that sets it. */
function withFlags(e: CliError): string {
  if (!e.fieldErrors.length) return e.message;
  const lines = e.fieldErrors.map((f) => {
    const flag = flagOf(f.field);
    return `  ${f.field}${flag ? ` (${flag})` : ''}: ${f.message}`;
  });
  return `invalid request:\n${lines.join('\n')}`;
}

export function buildProgram(io: Io, codeOut: { code: number }): Command {
  const program = new Command('pretext');
  const conn = (cmd: Command): Connection => {
    const o = cmd.optsWithGlobals() as ConnectionFlags;
    return new Connection(resolveConnection(o, io.env));
  };
  // Every action goes through here: one place turns errors into messages and exit codes.
  const run =
    (fn: (cmd: Command, ...args: string[]) => Promise<number>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
      try {
        codeOut.code = await fn(cmd, ...positional);
      } catch (caught) {
        let err = caught;
        const o = cmd.optsWithGlobals() as ConnectionFlags;
        let opts: ReturnType<typeof resolveConnection>;
        try {
          opts = resolveConnection(o, io.env);
        } catch (bad) {
          opts = { addr: o.addr ?? '?' };
          err = err instanceof CliError ? err : bad;
        }
        const e = await explainError(err, opts);
        io.err(`pretext: ${withFlags(e)}\n`);
        codeOut.code = e.exitCode;
      }
    };
  const withConn =
    (fn: (c: Connection, cmd: Command, ...args: string[]) => Promise<number>) =>
    (cmd: Command, ...args: string[]) => {
      const c = conn(cmd);
      return fn(c, cmd, ...args).finally(() => c.close());
    };

  program
    .description('Client of pretextd, the self-supervised-learning training daemon.')
    .option('--addr <host:port>', 'daemon address (env PRETEXT_ADDR, default 127.0.0.1:50051)')
    .option('--token <token>', 'bearer token (env PRETEXT_TOKEN)')
    .option('--token-file <file>', 'file holding the bearer token (env PRETEXT_TOKEN_FILE)')
    .option('--tls-ca <file>', 'PEM CA of the daemon certificate; enables TLS (env PRETEXT_TLS_CA)')
    .showHelpAfterError('(run with --help for usage)')
    // Subcommand help lists the connection options too.
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', `\n${EXIT_CODE_HELP}\n`)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  program
    .command('info')
    .description('describe the daemon: version, backends, datasets, queue')
    .option('--json', 'print one JSON document')
    .action(run(withConn((c, cmd) => infoCommand(c, io, cmd.opts()))));

  program
    .command('runs')
    .description('list runs, newest first')
    .option(
      '--state <states...>',
      'only these states: queued, running, succeeded, failed, cancelled, interrupted',
    )
    .option('--kind <kinds...>', 'only these kinds: pretext, downstream, evaluate')
    .option('--limit <n>', 'at most n runs, 1..1000 (default 100)')
    .option('--parent <run>', 'only runs built on this run')
    .option('--study <id>', 'only runs of this study')
    .option('--json', 'print one JSON document')
    .action(run(withConn((c, cmd) => runsCommand(c, io, cmd.opts()))));

  program
    .command('show')
    .description('show one run: config, progress, checkpoints, result')
    .argument('<run>', 'run id')
    .option('--json', 'print one JSON document')
    .action(run(withConn((c, cmd, id) => showCommand(c, io, id ?? '', cmd.opts()))));

  const pretext = program.command('pretext').description('pretext (self-supervised) runs');
  addFields(
    addFields(
      addFields(
        pretext
          .command('start')
          .description('queue a pretext run; prints its id (all options are checked before sending)'),
        PRETEXT_FIELDS,
      ),
      TRAINING_FIELDS,
    ),
    CONTRASTIVE_FIELDS,
  )
    .option('--name <label>', 'a human label')
    .option('--json', 'print the queued run as JSON')
    .option('--dry-run', DRY_RUN)
    .addHelpText('after', '\nExample: pretext pretext start --method rotation --dataset cifar10 --epochs 200')
    .action(
      run((cmd) => {
        const req = pretextRequest({ ...cmd.opts(), validateOnly: cmd.opts().dryRun === true });
        return withConn((c) => pretextStart(c, io, req, cmd.opts()))(cmd);
      }),
    );

  const downstream = program.command('downstream').description('downstream (supervised) runs');
  addFields(
    addFields(
      downstream
        .command('start')
        .description('queue a downstream run: --from RUN (SSL+SL) or --scratch (SL); prints its id'),
      DOWNSTREAM_FIELDS,
    ),
    TRAINING_FIELDS,
  )
    .option('--from <run>', 'the pretext run whose backbone initializes the network (SSL+SL)')
    .option('--scratch', 'random initialization (SL baseline)')
    .option('--name <label>', 'a human label')
    .option('--json', 'print the queued run as JSON')
    .option('--dry-run', DRY_RUN)
    .addHelpText(
      'after',
      '\nExample: pretext downstream start --from r-20261128-0001ab --n-labels 1250 --epochs 200',
    )
    .action(
      run((cmd) => {
        const req = downstreamRequest({ ...cmd.opts(), validateOnly: cmd.opts().dryRun === true });
        return withConn((c) => downstreamStart(c, io, req, cmd.opts()))(cmd);
      }),
    );

  addFields(program.command('eval').description("evaluate a run's checkpoint on a split"), EVAL_FIELDS)
    .argument('<run>', 'the run to evaluate')
    .option('--wait', 'wait for the evaluation and print its result (exit 1 if it fails)')
    .option('--name <label>', 'a human label')
    .option('--json', 'print one JSON document')
    .option('--dry-run', DRY_RUN)
    .action(
      run((cmd, id) => {
        const req = evaluateRequest(id ?? '', { ...cmd.opts(), validateOnly: cmd.opts().dryRun === true });
        return withConn((c) => evalCommand(c, io, req, cmd.opts()))(cmd);
      }),
    );

  program
    .command('watch')
    .description('follow a run to its end: progress bar, ETA, one line per epoch; exits with its outcome')
    .argument('<run>', 'run id')
    .option('--json', 'JSON lines: one event per line, then {"outcome": ...}')
    .option('--logs', 'also print info log lines and checkpoints')
    .addHelpText(
      'after',
      '\nExit status: 0 succeeded, 1 failed, 6 cancelled, 7 interrupted (see pretext --help).',
    )
    .action(run(withConn((c, cmd, id) => watchCommand(c, io, id ?? '', cmd.opts()))));

  program
    .command('cancel')
    .description('cancel a queued or running run')
    .argument('<run>', 'run id')
    .option('--json', 'print the run as JSON')
    .action(run(withConn((c, cmd, id) => cancelCommand(c, io, id ?? '', cmd.opts()))));

  program
    .command('resume')
    .description('resume an interrupted (or failed) run from its last checkpoint')
    .argument('<run>', 'run id')
    .option('--json', 'print the run as JSON')
    .action(run(withConn((c, cmd, id) => resumeCommand(c, io, id ?? '', cmd.opts()))));

  const study = program
    .command('study')
    .description('label-budget studies: SL vs SSL+SL across label budgets, with a report');
  study
    .command('start')
    .description('start a study from a preset with overrides (the daemon expands the preset); prints its id')
    .option('--preset <name>', 'a study preset (`pretext info` lists them; default cpu-quick)')
    .option('--from <run>', 'transfer from this existing pretext run instead of starting one')
    .option('--budgets <n...>', 'label budgets, e.g. 100 250 625')
    .option('--folds <n>', 'folds per budget')
    .option('--arms <arm...>', 'sl | ssl-fine-tune | ssl-linear-probe')
    .option('--epochs <n>', 'downstream epochs')
    .option('--pretext-epochs <n>', 'pretext epochs (when the study starts the pretext run)')
    .option(
      '--dataset <name>',
      'dataset of the pretext run the study starts (e.g. one from `pretext dataset add`)',
    )
    .option('--test-limit <n>', 'test images per downstream run (0 = all)')
    .option('--selection <name>', `${Object.keys(SELECTION_NAMES).join(' | ')} (default within-budget)`)
    .option('--name <label>', 'a human label')
    .option('--json', 'print the study as JSON')
    .option(
      '--dry-run',
      "ask the daemon's verdict: print the study as it would be stored (preset expanded); create nothing",
    )
    .action(
      run((cmd) => {
        const req = studyRequest({ ...cmd.opts(), validateOnly: cmd.opts().dryRun === true });
        return withConn((c) => studyStart(c, io, req, cmd.opts()))(cmd);
      }),
    );
  study
    .command('list')
    .description('list studies, newest first')
    .option('--json', 'print one JSON document')
    .action(run(withConn((c, cmd) => studyList(c, io, cmd.opts()))));
  study
    .command('show')
    .description('the study table as it is now (mean ± std over folds, gains)')
    .argument('<study>', 'study id')
    .option('--json', 'print one JSON document')
    .action(run(withConn((c, cmd, id) => studyShow(c, io, id ?? '', cmd.opts()))));
  study
    .command('watch')
    .description('follow a study: the table is printed again as each run ends; exits with its outcome')
    .argument('<study>', 'study id')
    .option('--json', 'JSON lines: the study after each update')
    .action(run(withConn((c, cmd, id) => studyWatch(c, io, id ?? '', cmd.opts()))));
  study
    .command('cancel')
    .description('cancel a study and its unfinished runs')
    .argument('<study>', 'study id')
    .option('--json', 'print the study as JSON')
    .action(run(withConn((c, cmd, id) => studyCancel(c, io, id ?? '', cmd.opts()))));
  study
    .command('report')
    .description('write the report: report.md, table.csv, plots (SVG + PNG), provenance.json')
    .argument('<study>', 'study id')
    .option('--out <dir>', 'output folder (default ./study-<id>)')
    .action(run(withConn((c, cmd, id) => studyReport(c, io, id ?? '', cmd.opts()))));
  study
    .command('compare')
    .description(
      'studies side by side (e.g. one preset under each selection protocol): accuracy, gain and labels used per budget',
    )
    .argument('<studies...>', 'study ids')
    .option('--out <dir>', 'also write comparison.md and comparison.csv there')
    .action(run(withConn((c, cmd) => studyCompare(c, io, cmd.args, cmd.opts()))));

  const dataset = program
    .command('dataset')
    .description('imported datasets: your own images, uploaded from a folder');
  dataset
    .command('add')
    .description(
      'upload a folder (labeled/<class>/… or train/<class>/…, optional test/<class>/…, unlabeled/**; PNG, JPEG, WebP) and import it; run it again to resume a cut-off upload',
    )
    .argument('<name>', 'dataset name (lower-case letters, digits, - and _)')
    .argument('<folder>', 'the folder on this machine')
    .option(
      '--side <px>',
      `image side after import (shorter side, then centre crop; default ${IMPORT.side.default})`,
    )
    .option(
      '--for <architecture>',
      'without --side: the side that backbone usually takes (resnet 32, small_conv 96, resnet18 96)',
    )
    .option('--seed <n>', 'seed of the test split carved when the folder has no test/')
    .option('--test-share <x>', `share of each class carved into test (default ${IMPORT.testShare.default})`)
    .option(
      '--max-failed-share <x>',
      `refuse the import when more files fail (default ${IMPORT.maxFailedShare.default})`,
    )
    .option('--json', 'print the dataset as JSON')
    .addHelpText('after', '\nExample: pretext dataset add my-photos ./photos')
    .action(run(withConn((c, cmd, name, folder) => datasetAdd(c, io, name ?? '', folder ?? '', cmd.opts()))));
  dataset
    .command('ls')
    .description('list imported datasets')
    .option('--json', 'print JSON')
    .action(run(withConn((c, cmd) => datasetList(c, io, cmd.opts()))));
  dataset
    .command('show')
    .description('one dataset: classes, counts per split, every skipped file')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(run(withConn((c, cmd, name) => datasetShow(c, io, name ?? '', cmd.opts()))));
  dataset
    .command('rm')
    .description('delete an imported dataset (refused while a queued or running run uses it)')
    .argument('<name>')
    .action(run(withConn((_c, _cmd, name) => datasetRemove(_c, io, name ?? ''))));

  program
    .command('gc')
    .description(
      "apply the daemon's retention settings now: old 'last' checkpoints, step events of finished runs",
    )
    .option('--dry-run', 'only list what would go and how many bytes')
    .option('--last-days <n>', "instead of the daemon's setting: drop 'last' of runs that ended n days ago")
    .option('--step-events <n>', "instead of the daemon's setting: keep n step events per finished run")
    .option('--json', 'print one JSON document')
    .addHelpText('after', '\nExample: pretext gc --dry-run --last-days 30')
    .action(run(withConn((c, cmd) => gcCommand(c, io, cmd.opts()))));

  program
    .command('export')
    .description("download a run's trained network (ONNX or TensorFlow.js) with its metadata.json")
    .argument('<run>', 'run id')
    .option('--format <name>', `${EXPORT_FORMATS.join(' | ')} (default onnx)`)
    .option('--out <dir>', 'folder for the files (default ./<run>-<format>)')
    .option('--checkpoint <which>', 'best | last (a run still training has only last)')
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      '\nA broken download resumes where it stopped when run again. The model takes NHWC float32\n' +
        'input: pixel/255 minus the mean image in metadata.json.\nExample: pretext export r-20261128-0a1b2c --format onnx --out model/',
    )
    .action(run(withConn((c, cmd, id) => exportCommand(c, io, id ?? '', cmd.opts()))));

  program
    .command('embed')
    .description("a run's backbone features of a dataset split or of image files, as .npy")
    .argument('<run>', 'run id')
    .option('--dataset <name>', "dataset (default: the run's)")
    .option('--split <name>', `${EMBED_SPLITS.join(' | ')} (default test)`)
    .option('--limit <n>', 'at most n images (0 = the whole split)')
    .option('--offset <n>', 'first image of the split')
    .option(
      '--image <files...>',
      `image files instead of a split (PNG, JPEG; at most ${MAX_IMAGES_PER_CALL})`,
    )
    .option('--out <file.npy>', 'embeddings (float32, n × dim); labels and indices go beside it')
    .option('--checkpoint <which>', 'best | last')
    .option(
      '--plot',
      'also draw a 2-D projection coloured by class (<out>.svg, <out>.png; at most 2000 points)',
    )
    .option('--beside <run>', 'with --plot: a second run drawn beside (e.g. the SL baseline)')
    .option('--projection <how>', 'umap | pca (default umap)')
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      `\n${IMAGE_RESIZE_RULE}.\nExample: pretext embed r-20261128-0a1b2c --split test --out emb.npy --plot`,
    )
    .action(run(withConn((c, cmd, id) => embedCommand(c, io, id ?? '', cmd.opts()))));

  program
    .command('predict')
    .description("top-k classes of image files by a downstream run's classifier")
    .argument('<run>', 'a downstream run id')
    .argument('<images...>', `PNG or JPEG files (at most ${MAX_IMAGES_PER_CALL})`)
    .option('--top-k <n>', `classes per image, 1..${MAX_TOP_K} (default 5)`)
    .option('--checkpoint <which>', 'best | last')
    .option('--json', 'print one JSON document')
    .addHelpText('after', `\n${IMAGE_RESIZE_RULE}.\nExample: pretext predict r-20261128-3c4d5e a.jpg b.png`)
    .action(
      run(async (cmd, id) => {
        const c = conn(cmd);
        try {
          // commander hands the variadic argument over as an array; cmd.args has them all.
          return await predictCommand(c, io, id ?? '', cmd.args.slice(1), cmd.opts());
        } finally {
          c.close();
        }
      }),
    );

  program
    .command('tui')
    .description('the terminal dashboard (keys: ? for help)')
    .option('--study <id>', "open this study's view (the table filling in live)")
    .action(
      run(async (cmd) => {
        const study = (cmd.opts() as { study?: string }).study;
        if (study !== undefined && !/^s-\S+$/.test(study)) {
          throw new CliError(`--study "${study}" is not a study id (s-...)`, ExitCode.INVALID_ARGUMENT);
        }
        const opts = resolveConnection(cmd.optsWithGlobals() as ConnectionFlags, io.env);
        // Loaded lazily: plain commands should not pay for React and Ink.
        const { runDashboard } = await import('../client-tui/main.js');
        return runDashboard(opts, { studyId: study });
      }),
    );

  return program;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const codeOut = { code: ExitCode.OK as number };
  const program = buildProgram(io, codeOut);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are exits with 0; everything else commander rejects is usage.
      if (err.exitCode === 0) return ExitCode.OK;
      if (err.code === 'commander.help' || err.code === 'commander.helpDisplayed') return ExitCode.OK;
      return ExitCode.INVALID_ARGUMENT;
    }
    throw err;
  }
  return codeOut.code;
}

// `tsx cli/main.ts ...` runs it directly; bin/pretext.js imports `main` and calls it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
