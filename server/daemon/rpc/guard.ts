// Guards at the door that no handler can forget:
// - a request that does not decode (malformed protobuf, or a uint64 of 2^53 or more, which the
//   generated decoder cannot represent as a number) is answered INVALID_ARGUMENT — grpc-js
//   itself would answer INTERNAL for any decoder exception;
// - every status message sent to a client is bounded: a long token of input quoted in it is
//   cut to 80 characters, the whole message to 1,000, so a huge name can never push the
//   trailers over a client's metadata limit (which it would report as RESOURCE_EXHAUSTED).
import * as grpc from '@grpc/grpc-js';

const MALFORMED = Symbol('malformed request');

interface Malformed {
  [MALFORMED]: string;
}

function isMalformed(message: unknown): message is Malformed {
  return typeof message === 'object' && message !== null && MALFORMED in message;
}

/** The client-facing reason a request could not be decoded. */
export function describeDecodeError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/MAX_SAFE_INTEGER|MIN_SAFE_INTEGER/.test(text)) {
    return 'the request has a 64-bit integer field (e.g. from_seq, seed) of 2^53 or more; this daemon accepts values below 9007199254740992';
  }
  return `the request is not a valid protobuf message for this method (${boundDetails(text)})`;
}

/** Wraps a deserializer so that it never throws: a failure becomes a marker the interceptor answers. */
export function safeDeserializer<T>(deserialize: (buf: Buffer) => T): (buf: Buffer) => T | Malformed {
  return (buf) => {
    try {
      return deserialize(buf);
    } catch (err) {
      return { [MALFORMED]: describeDecodeError(err) };
    }
  };
}

/** Makes every service later added to `server` decode its requests through `safeDeserializer`. */
export function guardDeserializers(server: grpc.Server): void {
  const add = server.addService.bind(server);
  server.addService = (service, implementation) => {
    const guarded = Object.fromEntries(
      Object.entries(service).map(([name, def]) => [
        name,
        { ...def, requestDeserialize: safeDeserializer(def.requestDeserialize) },
      ]),
    );
    add(guarded, implementation);
  };
}

/**
 * grpc-js answers a call to an unknown method path before any interceptor runs, quoting the
 * whole path: bound that message too. (`_respondWithError` is grpc-js' one exit for such
 * answers; if a future grpc-js renames it, this does nothing and the answer stays UNIMPLEMENTED.)
 */
export function boundEarlyErrors(server: grpc.Server): void {
  const target = server as unknown as {
    _respondWithError?: (err: { details?: string }, ...rest: unknown[]) => void;
  };
  const respond = target._respondWithError;
  if (typeof respond !== 'function') return;
  target._respondWithError = function (this: unknown, err, ...rest) {
    respond.call(this, err.details ? { ...err, details: boundDetails(err.details) } : err, ...rest);
  };
}

const MAX_TOKEN = 80;
const MAX_DETAILS = 1000;

/** Cuts every run of more than 80 non-space characters to 80, and the whole text to 1,000. */
export function boundDetails(text: string): string {
  let out = text.replace(
    new RegExp(`\\S{${MAX_TOKEN + 1},}`, 'g'),
    (token) => `${token.slice(0, MAX_TOKEN)}… (${token.length} characters)`,
  );
  if (out.length > MAX_DETAILS) out = `${out.slice(0, MAX_DETAILS)}… (message cut)`;
  return out;
}

/** Answers undecodable requests with INVALID_ARGUMENT and bounds every outgoing status message. */
export const requestGuardInterceptor: grpc.ServerInterceptor = (_descriptor, call) =>
  new grpc.ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMessage: (message, messageNext) => {
          if (isMalformed(message)) {
            call.sendStatus({
              code: grpc.status.INVALID_ARGUMENT,
              details: message[MALFORMED],
              metadata: new grpc.Metadata(),
            });
            return;
          }
          messageNext(message);
        },
      });
    },
    sendStatus: (status, next) => {
      next(status.details ? { ...status, details: boundDetails(status.details) } : status);
    },
  });
