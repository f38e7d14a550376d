/** The `portcullis` command line; `main.ts` beside this is the process entry point that runs it. */
export { buildProgram, COMMANDS, type CommandEntry } from './program.js';
