/**
 * Span attribute names. MCP and GenAI names follow the OpenTelemetry semantic conventions for MCP and
 * GenAI tool execution; the gateway's own facts live under `portcullis.*`. Never put a token, secret or
 * raw tool argument in an attribute: `portcullis.credential.jti` names a credential, it is not one.
 */
export const ATTR_MCP_METHOD_NAME = 'mcp.method.name';
export const ATTR_MCP_SESSION_ID = 'mcp.session.id';
export const ATTR_MCP_PROTOCOL_VERSION = 'mcp.protocol.version';
export const ATTR_NETWORK_TRANSPORT = 'network.transport';
export const ATTR_NETWORK_PROTOCOL_NAME = 'network.protocol.name';
export const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version';
export const ATTR_GEN_AI_PROMPT_NAME = 'gen_ai.prompt.name';
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_JSONRPC_REQUEST_ID = 'jsonrpc.request.id';
export const ATTR_ERROR_TYPE = 'error.type';

export const ATTR_PORTCULLIS_TASK_ID = 'portcullis.task.id';
export const ATTR_PORTCULLIS_TASK_INTENT = 'portcullis.task.intent';
export const ATTR_PORTCULLIS_AGENT_ID = 'portcullis.agent.id';
export const ATTR_PORTCULLIS_DECISION = 'portcullis.decision';
export const ATTR_PORTCULLIS_RULES = 'portcullis.rules';
export const ATTR_PORTCULLIS_APPROVAL_ID = 'portcullis.approval.id';
export const ATTR_PORTCULLIS_POLICY_VERSION = 'portcullis.policy.version';
export const ATTR_PORTCULLIS_CREDENTIAL_JTI = 'portcullis.credential.jti';

/** `gen_ai.operation.name` value for a tool call. */
export const GEN_AI_OPERATION_EXECUTE_TOOL = 'execute_tool';

/** Span names of the intent-chain trace. */
export const spanNames = {
  task: (intent: string | undefined) => (intent !== undefined && intent !== '' ? `task ${intent}` : 'task'),
  toolCall: (tool: string) => `tools/call ${tool}`,
  decision: 'policy.decide',
  approvalWait: 'approval.wait',
  backend: 'backend.request',
} as const;
