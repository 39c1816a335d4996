// Errors of the data layer. Their messages are shown to users as they are (FAILED_PRECONDITION
// style): they say which file, where, and what was expected.

/** The dataset's files are not in the data directory and cannot be downloaded. */
export class DatasetUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetUnavailableError';
  }
}

/** A file is there but truncated or corrupt (wrong size, checksum or content). */
export class DatasetCorruptError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'DatasetCorruptError';
  }
}
