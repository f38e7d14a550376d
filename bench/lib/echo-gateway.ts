/**
 * The gateway as `npm run bench` runs `portcullis` (the echo server as a stdio connector, tracing on to a
 * collector nobody listens on), with N raw-driver sessions open on it and a way to make calls on all of them
 * at once: for the bench scripts that watch the gateway's own process while it serves (gc-trace.ts reads
 * its GC trace, heap-sample.ts its heap profiler).
 */
import { startGatewayProcess, type GatewayProcess } from '../../test/conformance/gateway-process.js';
import { benchGatewayConfig } from './echo-upstream.js';
import type { EraMode } from './eras.js';
import { createRawPool, openRawSession } from './raw-client.js';

const TEXT = 'hello portcullis';

export interface EchoGateway {
  gateway: GatewayProcess;
  /** `calls` echo calls on every session, each session's one after the other; throws on a failed call. */
  callEach(calls: number): Promise<void>;
  /** Closes the sessions, the connections and the gateway. */
  close(): Promise<void>;
}

export async function openEchoGateway(options: {
  /** The compiled command to run (`bin/portcullis.js` of a checkout). */
  bin: string;
  nodeArgs: readonly string[];
  mode: EraMode;
  sessions: number;
  /** A policy file for the gateway (as `portcullis-10k-rules` serves one), beside its configuration's own rules. */
  policyFile?: string;
}): Promise<EchoGateway> {
  const gateway = await startGatewayProcess({
    agentId: 'bench-agent',
    compiledCli: options.bin,
    nodeArgs: options.nodeArgs,
    config: {
      ...(await benchGatewayConfig()),
      ...(options.policyFile !== undefined ? { policy: { files: [options.policyFile], watch: false } } : {}),
    },
  });
  const pool = createRawPool(gateway.url, options.sessions);
  const shutDown = async (): Promise<void> => {
    await pool.close().catch(() => undefined);
    await gateway.close();
  };
  const endpoint = { url: gateway.url, headers: { Authorization: `Bearer ${gateway.key}` } };
  let open: Awaited<ReturnType<typeof openRawSession>>[];
  try {
    open = await Promise.all(
      Array.from({ length: options.sessions }, (_, i) => openRawSession(pool, endpoint, options.mode, `bench-${i}`)),
    );
  } catch (error) {
    await shutDown();
    throw error;
  }
  return {
    gateway,
    async callEach(calls) {
      await Promise.all(
        open.map(async (session) => {
          for (let i = 0; i < calls; i++) {
            const error = await session.callTool('echo_echo', { text: TEXT }, TEXT);
            if (error !== undefined) throw new Error(`call failed: ${error}`);
          }
        }),
      );
    },
    async close() {
      await Promise.all(open.map((session) => session.close().catch(() => undefined)));
      await shutDown();
    },
  };
}
