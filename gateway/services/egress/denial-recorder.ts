/**
 * What the gateway does with an egress denial: log it and audit it as EGRESS_DENIED with the rules, the
 * resolved address and its class, in the scope (connector, tool, agent, task) it happened in.
 */
import type { Logger } from '../../kernel/index.js';
import { appendBestEffort, type AuditSink } from '../audit/index.js';
import type { EgressDenial } from './errors.js';
import type { EgressScope } from './guard.js';

export function egressDenialRecorder(deps: {
  audit: AuditSink;
  logger: Logger;
}): (denial: EgressDenial, scope: EgressScope) => void {
  return (denial, scope) => {
    const where = {
      connector: scope.connector,
      ...(scope.tool !== undefined ? { tool: scope.tool } : {}),
      ...(scope.principal !== undefined ? { agentId: scope.principal.agentId } : {}),
      ...(scope.task !== undefined ? { taskId: scope.task.id } : {}),
    };
    const target = { host: denial.host, port: denial.port, ip: denial.ip, addressClass: denial.addressClass };
    deps.logger.warn({ ...where, ...target, rules: denial.rules, code: 'EGRESS_DENIED' }, 'egress denied');
    void appendBestEffort(deps.audit, {
      event: 'egress.denied',
      decision: 'deny',
      code: 'EGRESS_DENIED',
      ...(where.agentId !== undefined ? { agentId: where.agentId } : {}),
      ...(where.taskId !== undefined ? { taskId: where.taskId } : {}),
      ...(where.tool !== undefined ? { tool: where.tool } : {}),
      target: `${scope.connector} ${denial.scheme}://${denial.host}:${denial.port}`,
      rules: [...denial.rules],
      reason: denial.reason,
      detail: { ...target, scheme: denial.scheme },
    });
  };
}
