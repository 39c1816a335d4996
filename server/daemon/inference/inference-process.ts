// Daemon side of one inference call's worker: forks the inference entry, sends the job, relays
// embed blocks (the caller acks each when the client has taken it), and settles exactly once:
// the worker's outcome, or `crashed` when it dies without one (or is killed).
import { type ChildProcess, fork } from 'node:child_process';
import type { FromInference, InferenceJob, ToInference } from '../../shared/inference-protocol.js';

export type InferenceOutcome =
  | Extract<FromInference, { type: 'done' }>
  | Extract<FromInference, { type: 'failed' }>
  | { type: 'crashed'; error: string };

export type InferenceBlock = Extract<FromInference, { type: 'embedInfo' | 'rows' }>;

const TSX_LOADER = import.meta.resolve('tsx');
const STDERR_TAIL = 3000;

export class InferenceProcess {
  private readonly child: ChildProcess;
  private outcome: InferenceOutcome | undefined;
  private stderr = '';
  readonly result: Promise<InferenceOutcome>;

  constructor(
    entry: string,
    job: InferenceJob,
    onBlock: (b: InferenceBlock) => void,
    env?: NodeJS.ProcessEnv,
  ) {
    this.child = fork(entry, [], {
      execArgv: ['--import', TSX_LOADER],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: env ?? process.env,
    });
    this.child.stderr?.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-STDERR_TAIL);
    });
    this.child.on('message', (msg: FromInference) => {
      if (msg.type === 'ready') this.send({ type: 'job', job });
      else if (msg.type === 'done' || msg.type === 'failed') this.outcome ??= msg;
      else onBlock(msg);
    });
    this.result = new Promise((resolve) => {
      let settled = false;
      const settle = (o: InferenceOutcome) => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      this.child.on('exit', (code, signal) => {
        const tail = this.stderr.trim().split('\n').slice(-6).join('\n');
        settle(
          this.outcome ?? {
            type: 'crashed',
            error: `the inference worker ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${tail ? `: ${tail}` : ''}`,
          },
        );
      });
      this.child.on('error', (err) =>
        settle({ type: 'crashed', error: `could not start the worker: ${err.message}` }),
      );
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private send(msg: ToInference): void {
    if (this.child.connected) this.child.send(msg);
  }

  /** The client has taken one block: the worker may compute another. */
  ack(): void {
    this.send({ type: 'ack' });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
