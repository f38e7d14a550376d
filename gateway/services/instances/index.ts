/**
 * Messages between gateway instances sharing one store: a broadcast every instance hears, a direct message
 * to one instance, and word when this instance stopped hearing them. The Redis stores provide it
 * (`gateway/stores/redis-channels.ts`); the MCP edge uses it for change events and relayed retries.
 */
export type InstanceMessage = Record<string, unknown>;

export interface InstanceMessages {
  /** This instance's id (random per process). */
  readonly instanceId: string;
  /** To every instance, this one included; rejects when the store cannot take it. */
  broadcast(message: InstanceMessage): Promise<void>;
  /** To one instance; resolves with whether it was listening (false: it is gone). */
  send(instanceId: string, message: InstanceMessage): Promise<boolean>;
  /** Whether an instance is listening now (false: it stopped, or lost its connection to the store). */
  listening(instanceId: string): Promise<boolean>;
  onBroadcast(listener: (message: InstanceMessage, from: string) => void): () => void;
  onDirect(listener: (message: InstanceMessage, from: string) => void): () => void;
  /** This instance stopped hearing messages: those sent to it meanwhile are lost. */
  onLost(listener: (reason: string) => void): () => void;
  /** Whether messages sent to this instance arrive now. */
  available(): boolean;
}
