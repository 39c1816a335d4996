// The worker process entry: the daemon forks this file (through tsx) once per run.
import { JOBS } from './jobs.js';
import { runWorker } from './worker-runtime.js';

runWorker(JOBS);
