/** Tool integrity: pinned tool definitions, definition analysis, change detection and quarantine. */
export {
  createToolIntegrity,
  PinError,
  type FirstSightMode,
  type ScreenedTool,
  type ToolIntegrity,
} from './tool-integrity.js';
export { createMemoryPinStore, createRedisPinStore, type PinRecord, type PinStore } from './pin-store.js';
export { analyzeDefinition, FLAG_THRESHOLD, type DefinitionAnalysis } from './analyze.js';
export { TOOL_FLAGS, type Finding, type ToolFlag } from './findings.js';
export type { PinnedDefinition } from './pin.js';
