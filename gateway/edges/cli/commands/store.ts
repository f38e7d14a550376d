/**
 * `portcullis store rebuild --config FILE [--audit FILE...]`: rebuild the state that denies (disabled
 * agents, revoked credentials, ended tasks, lost approval requests) in the configured Redis from the audit
 * logs, after Redis lost its data. Reads the configured log (`audit.file`), every log in
 * `stores.recovery.auditFiles` and every `--audit` log (each with its rotated files), applies what they
 * record, and writes a new store epoch: every running instance then adopts it (or, with automatic recovery,
 * adds its own log's state first) and serves again. Safe to run on a store that lost nothing.
 * Exit 0 when rebuilt, 1 when it could not be (nothing is marked complete), 2 for a wrong command line.
 */
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { resolveSecretRef } from '../../../config/index.js';
import { epochKey, newEpochValue, rebuildFromAudit, type RebuildReport } from '../../../stores/index.js';
import { loadOrExit } from './start.js';

export function storeCommand(): Command {
  const command = new Command('store').description('the shared state store (Redis): rebuild after data loss');
  command
    .command('rebuild')
    .description('rebuild disabled agents, revocations, ended tasks and lost approvals from the audit logs')
    .requiredOption('-c, --config <file>', 'portcullis.yaml')
    .option(
      '--audit <file>',
      "another instance's audit log (repeatable; its rotated files are read with it)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { config: string; audit: string[]; json?: boolean }) => {
      const loaded = await loadOrExit(options.config);
      if (loaded === undefined) return;
      const { config, baseDir } = loaded;
      if (config.stores.kind !== 'redis') {
        process.stderr.write('stores.kind is memory: its state lives and dies with the process; nothing to rebuild\n');
        process.exitCode = 2;
        return;
      }
      const stores = config.stores;
      const password =
        stores.password !== undefined
          ? (await resolveSecretRef(stores.password, { env: process.env, baseDir })).reveal()
          : undefined;
      const redis = new Redis(stores.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        connectTimeout: 5_000,
        ...(password !== undefined ? { password } : {}),
      });
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        const report = await rebuildFromAudit({
          redis,
          prefix: stores.prefix,
          logs: [
            ...(config.audit.file !== undefined ? [{ file: config.audit.file, optional: true }] : []),
            ...stores.recovery.auditFiles.map((file) => ({ file, optional: true })),
            ...options.audit.map((file) => ({ file })),
          ],
          pendingTtlMs: config.approvals.pendingTtlSeconds * 1000,
        });
        // A new epoch: every instance sees the store was rebuilt, and serves again.
        await redis.set(epochKey(stores.prefix), newEpochValue());
        process.stdout.write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
      } catch (error) {
        process.stderr.write(`rebuild failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
      } finally {
        redis.disconnect();
      }
    });
  return command;
}

function describe(report: RebuildReport): string {
  return [
    `rebuilt from ${report.files.length} audit file(s), ${report.records} relevant records (${report.malformed} unreadable lines) in ${report.durationMs} ms`,
    ...report.files.map((file) => `  read ${file}`),
    `  disabled agents: ${report.disabledAgents}`,
    `  revoked credentials: ${report.revokedCredentials}`,
    `  task records: ${report.tasks}`,
    `  trusted tool hashes: ${report.toolPins}`,
    `  approval requests lost: ${report.lostApprovals}`,
    '',
  ].join('\n');
}
