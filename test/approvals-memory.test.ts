/** The approval contract against the in-process queue and grant store. */
import {
  registerApprovalQueueContract,
  registerGrantStoreContract,
} from '../gateway/services/approvals/contract.test-suite.js';
import { createMemoryGrantStore } from '../gateway/services/approvals/grants.js';
import { createMemoryApprovalQueue } from '../gateway/services/approvals/memory-queue.js';

registerApprovalQueueContract('memory queue', async () => ({
  open: (options) => createMemoryApprovalQueue(options),
  cleanup: async () => {},
}));

registerGrantStoreContract('memory grants', async () => ({
  open: (options) => createMemoryGrantStore(options),
  cleanup: async () => {},
}));
