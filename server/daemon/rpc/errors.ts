// Errors that carry a gRPC status code and a message a person can act on.
import { Metadata, status } from '@grpc/grpc-js';
import { ContractError, type FieldError } from '../../shared/contract/verdict.js';

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** Field-level verdicts of an INVALID_ARGUMENT, sent as the `pretext-field-errors` trailer. */
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export const invalidArgument = (msg: string) => new RpcError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string) => new RpcError(status.NOT_FOUND, msg);
export const failedPrecondition = (msg: string) => new RpcError(status.FAILED_PRECONDITION, msg);

/** Trailer key of the JSON list of field errors (every client reads it; the message repeats them). */
export const FIELD_ERRORS_KEY = 'pretext-field-errors';
// A status message stays well under the 8 kB a client accepts in its trailers.
const MAX_DETAILS = 1000;

export function fromContractError(err: ContractError): RpcError {
  const lines = err.errors.map((e) => `${e.field}: ${e.message}`);
  let details = `invalid request: ${lines.join('; ')}`;
  if (details.length > MAX_DETAILS)
    details = `${details.slice(0, MAX_DETAILS)}… (${err.errors.length} errors)`;
  return new RpcError(status.INVALID_ARGUMENT, details, err.errors.slice(0, 50));
}

/** The ServiceError grpc-js sends for an RpcError (with the field-errors trailer when any). */
export function serviceErrorOf(err: RpcError): { code: status; details: string; metadata?: Metadata } {
  if (!err.fieldErrors.length) return { code: err.code, details: err.message };
  const metadata = new Metadata();
  // ASCII metadata: escape anything else the way JSON allows.
  const json = JSON.stringify(err.fieldErrors).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  metadata.set(FIELD_ERRORS_KEY, json);
  return { code: err.code, details: err.message, metadata };
}

/** RpcError as is; a ContractError becomes INVALID_ARGUMENT; anything else is not a client's mistake. */
export function asRpcError(err: unknown): RpcError | undefined {
  if (err instanceof RpcError) return err;
  if (err instanceof ContractError) return fromContractError(err);
  return undefined;
}
