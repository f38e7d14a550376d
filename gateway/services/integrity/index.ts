/** Tool integrity: pinned tool definitions, change detection and quarantine. */
export { createToolIntegrity, PinError, type ToolIntegrity } from './tool-integrity.js';
export { createMemoryPinStore, createRedisPinStore, type PinStore } from './pin-store.js';
