import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { buildProgram, COMMANDS, requestedCommand, VERSION, type CommandEntry } from './program.js';

/** Entries that record which commands were loaded, each loading a real (empty) command of its name. */
function recordingEntries(): { entries: CommandEntry[]; loaded: string[] } {
  const loaded: string[] = [];
  const entries = COMMANDS.map((entry) => ({
    name: entry.name,
    summary: entry.summary,
    load: () => {
      loaded.push(entry.name);
      return Promise.resolve(new Command(entry.name).description(entry.summary).option('--marker'));
    },
  }));
  return { entries, loaded };
}

describe('portcullis command tree', () => {
  it('loads no subcommand module for --help, --version or no arguments', async () => {
    for (const args of [['--help'], ['-h'], ['--version'], ['-V'], [], ['help']]) {
      const { entries, loaded } = recordingEntries();
      const program = await buildProgram(args, entries);
      assert.deepEqual(loaded, [], `nothing loaded for ${JSON.stringify(args)}`);
      assert.deepEqual(
        program.commands.map((c) => c.name()),
        COMMANDS.map((c) => c.name),
        'every subcommand is listed',
      );
    }
  });

  it('loads exactly the subcommand the arguments name, also behind `help`', async () => {
    const cases: [string[], string][] = [
      [['start', '--config', 'portcullis.yaml'], 'start'],
      [['audit', 'verify', 'audit.jsonl'], 'audit'],
      [['help', 'policy'], 'policy'],
      [['--help', 'demo'], 'demo'],
    ];
    for (const [args, name] of cases) {
      const { entries, loaded } = recordingEntries();
      const program = await buildProgram(args, entries);
      assert.deepEqual(loaded, [name]);
      const full = program.commands.find((c) => c.name() === name);
      assert.ok(
        full?.options.some((o) => o.long === '--marker'),
        `${name} is the loaded command, not a stub`,
      );
    }
    assert.equal(requestedCommand(['-V']), undefined);
    assert.equal(requestedCommand(['nope']), 'nope');
  });

  it('lists each subcommand with the name and description of the command it loads', async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      assert.equal(command.name(), entry.name);
      assert.equal(command.description(), entry.summary, `summary of ${entry.name}`);
    }
  });

  it('reports the version package.json declares', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(VERSION, manifest.version);
  });
});
