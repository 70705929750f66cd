import type { Change, Route53Client } from '@aws-sdk/client-route-53';

/** One ChangeResourceRecordSets request as the solver sent it. */
export interface RecordedChangeBatch {
  /** Without the `/hostedzone/` prefix. */
  hostedZoneId: string;
  changes: Change[];
}

export interface Route53Requests {
  /** Every ChangeResourceRecordSets input, in order: the "presentation changes". */
  readonly changeBatches: RecordedChangeBatch[];
  /** The Id of every GetChange request, in order (the waiter's polls included). */
  readonly getChangeIds: string[];
  /** The command name of every request, in order: `ListResourceRecordSetsCommand`, … */
  readonly commands: string[];
  /** How many requests of one command were sent. */
  count(command: string): number;
  /** Forgets everything recorded so far. */
  clear(): void;
}

let middlewares = 0;

/**
 * Adds a middleware to `client` that records every request it sends (once per `send`,
 * before retries), so tests can count ChangeResourceRecordSets and GetChange calls.
 */
export function recordRoute53Requests(client: Route53Client): Route53Requests {
  const changeBatches: RecordedChangeBatch[] = [];
  const getChangeIds: string[] = [];
  const commands: string[] = [];
  middlewares += 1;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? 'unknown');
      commands.push(command);
      const input = args.input as {
        HostedZoneId?: string;
        ChangeBatch?: { Changes?: Change[] };
        Id?: string;
      };
      if (command === 'ChangeResourceRecordSetsCommand') {
        changeBatches.push({
          hostedZoneId: (input.HostedZoneId ?? '').replace(/^\/?hostedzone\//, ''),
          changes: structuredClone(input.ChangeBatch?.Changes ?? []),
        });
      }
      if (command === 'GetChangeCommand') getChangeIds.push(input.Id ?? '');
      return next(args);
    },
    { step: 'initialize', name: `certloopRequestRecorder${middlewares}` },
  );
  return {
    changeBatches,
    getChangeIds,
    commands,
    count: (command) => commands.filter((sent) => sent === command).length,
    clear() {
      changeBatches.length = 0;
      getChangeIds.length = 0;
      commands.length = 0;
    },
  };
}

export interface Route53Answer {
  /** The command to answer, `GetChangeCommand`. */
  command: string;
  /** The HTTP status of the fabricated answer. */
  status: number;
  /** The XML body; empty when absent. */
  body?: string;
  /** How many requests to answer this way; every one when absent. */
  times?: number;
}

export interface Route53Fault {
  /** The command to fail, `ChangeResourceRecordSetsCommand`. */
  command: string;
  /** The HTTP status Route 53 "answers". */
  status: number;
  /** The Route 53 error code in the XML body; no body at all when absent. */
  code?: string;
  message?: string;
  /** How many requests to fail; every one when absent. */
  times?: number;
}

export interface InjectedAnswer {
  /** How many requests were answered so far. */
  readonly hits: number;
  remove(): void;
}

/**
 * Makes `client` receive a fabricated HTTP answer for `answer.command` in place of the real
 * exchange (the request never leaves the process). The middleware sits just inside the
 * SDK's deserializer, so the answer goes through the SDK's own parsing: an error surfaces
 * exactly as a real one would (name, `$metadata.httpStatusCode`, `$fault`), a 200 as output.
 */
export function injectRoute53Answer(client: Route53Client, answer: Route53Answer): InjectedAnswer {
  middlewares += 1;
  const name = `certloopAnswerInjector${middlewares}`;
  let hits = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (
        context.commandName !== answer.command ||
        (answer.times !== undefined && hits >= answer.times)
      ) {
        return next(args);
      }
      hits += 1;
      return {
        output: undefined as never,
        response: {
          statusCode: answer.status,
          reason: 'injected',
          headers: { 'content-type': 'text/xml', 'x-amzn-requestid': 'certloop-injected' },
          body: new TextEncoder().encode(answer.body ?? ''),
        },
      };
    },
    // 'deserialize' step, low priority: inside the SDK's deserializer, outside the HTTP handler.
    { step: 'deserialize', priority: 'low', name },
  );
  return {
    get hits() {
      return hits;
    },
    remove() {
      client.middlewareStack.remove(name);
    },
  };
}

/** A Route 53 error answer (Throttling, 5xx, AccessDenied, …) for `fault.command`. */
export function injectRoute53Fault(client: Route53Client, fault: Route53Fault): InjectedAnswer {
  const body =
    fault.code === undefined
      ? ''
      : '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">' +
        `<Error><Type>${fault.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${fault.code}</Code>` +
        `<Message>${fault.message ?? fault.code}</Message></Error>` +
        '<RequestId>certloop-injected-fault</RequestId></ErrorResponse>';
  return injectRoute53Answer(client, {
    command: fault.command,
    status: fault.status,
    body,
    ...(fault.times === undefined ? {} : { times: fault.times }),
  });
}

/** A GetChange answer with the given status (moto always answers INSYNC). */
export function getChangeAnswer(status: 'PENDING' | 'INSYNC', id = '/change/CERTLOOPTEST'): string {
  return (
    '<?xml version="1.0"?>\n<GetChangeResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">' +
    `<ChangeInfo><Id>${id}</Id><Status>${status}</Status>` +
    '<SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>'
  );
}
