#!/usr/bin/env node
// The `portcullis` command. Sources are TypeScript; tsx compiles them on load.
import { register } from 'tsx/esm/api';

register();
await import('../gateway/edges/cli/main.ts');
