/**
 * A request the edge has already checked, handed to the server's protocol layer without the SDK's sorting
 * of inbound messages.
 *
 * A transport hands every message to the server through the `onmessage` the SDK's `connect` sets: it calls
 * what was set on the transport before (the gateway's observers: operation metrics, the protocol-version
 * watch), then sorts the message with three schema checks (is it a result, an error, a request?) and
 * passes a request to the protocol layer's request dispatch (`_onrequest`), which checks the request's era,
 * method, envelope and params and runs its handler. The requests the edge serves directly (a 2025
 * session's request after the SDK's own parse of the body, session-requests.ts; a 2026-07-28 `tools/call`
 * after the SDK's own classifier, modern-calls.ts) are already known to be requests by those same schemas:
 * sorting them again cost a call three schema parses, two of them failing ones that build their issues
 * (bench/request-delivery-bench.ts). Nothing is decided differently: the SDK's request, result and error
 * schemas are strict objects with different required members, so a message that is a request is neither a
 * result nor an error, and the SDK's sorting would have passed it to the same dispatch.
 *
 * `_onrequest` is a member of the SDK's `Protocol` that is not its public API (@modelcontextprotocol/server
 * 2.4.0, pinned). A server without it has its requests delivered through the transport's `onmessage`, as
 * before, and a test fails (request-delivery.test.ts).
 */
import type { JSONRPCRequest, MessageExtraInfo, Server, Transport } from '@modelcontextprotocol/server';

/** Delivers one checked request to the server, with the extra information a transport would give it. */
export type RequestDelivery = (request: JSONRPCRequest, extra?: MessageExtraInfo) => void;

/** The protocol layer's request dispatch, looked up on every delivery as the SDK's `onmessage` looks it up. */
interface WithRequestDispatch {
  _onrequest(request: JSONRPCRequest, extra?: MessageExtraInfo): void;
}

/** Delivery as the transport itself delivers: through its `onmessage`, the SDK's sorting included. */
export function onMessageDelivery(transport: Transport): RequestDelivery {
  return (request, extra) => transport.onmessage?.(request, extra);
}

/**
 * How `transport` delivers a checked request to `server`. Call it right before `server.connect(transport)`,
 * once everything that observes the transport's messages has wrapped its `onmessage`: those observers
 * still see every request delivered this way, before the server does, as the SDK's `connect` calls them.
 */
export function requestDelivery(server: Server, transport: Transport): RequestDelivery {
  const observers = transport.onmessage;
  if (typeof (server as unknown as Partial<WithRequestDispatch>)._onrequest !== 'function')
    return onMessageDelivery(transport);
  const dispatching = server as unknown as WithRequestDispatch;
  return (request, extra) => {
    observers?.(request, extra);
    dispatching._onrequest(request, extra);
  };
}
