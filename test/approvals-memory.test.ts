/** The approval queue contract against the in-process queue (the grant store's runs beside grants.ts). */
import { registerApprovalQueueContract } from '../gateway/services/approvals/contract.test-suite.js';
import { createMemoryApprovalQueue } from '../gateway/services/approvals/memory-queue.js';

registerApprovalQueueContract('memory queue', async () => ({
  open: (options) => createMemoryApprovalQueue(options),
  cleanup: async () => {},
}));
