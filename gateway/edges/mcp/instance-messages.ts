/**
 * What the MCP edge needs from the messages between gateway instances sharing one store (the Redis
 * stores provide it; see `gateway/stores/redis-channels.ts`): a broadcast every instance hears, a direct
 * message to one instance, and word when this instance stopped hearing them.
 */
export type InstanceMessage = Record<string, unknown>;

export interface InstanceMessages {
  readonly instanceId: string;
  /** To every instance, this one included; rejects when the store cannot take it. */
  broadcast(message: InstanceMessage): Promise<void>;
  /** To one instance; resolves with whether it was listening (false: it is gone). */
  send(instanceId: string, message: InstanceMessage): Promise<boolean>;
  /** Whether an instance is listening now. */
  listening(instanceId: string): Promise<boolean>;
  onBroadcast(listener: (message: InstanceMessage, from: string) => void): () => void;
  onDirect(listener: (message: InstanceMessage, from: string) => void): () => void;
  /** This instance stopped hearing messages (some may be lost). */
  onLost(listener: (reason: string) => void): () => void;
  /** Whether messages sent to this instance arrive now. */
  available(): boolean;
}
