import { Command } from 'commander';
import { assertConfigUsable, ConfigError, loadConfigFile, gatewayConfigJsonSchema } from '../../../config/index.js';
import type { Environment } from '../../../config/index.js';
import { assertPreflight } from '../../../preflight.js';
import { checkConnectors } from '../connector-check.js';
import { checkPolicyFiles, checkSecretReferences, secretReferences } from '../reference-check.js';

export interface ConfigCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  setExitCode(code: number): void;
  /** Where `env:` secret references are resolved (`--secrets`). */
  env: Environment;
}

const processIo: ConfigCliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  setExitCode: (code) => void (process.exitCode = code),
  env: process.env,
};

export function configCommand(io: ConfigCliIo = processIo): Command {
  const command = new Command('config').description('check and describe gateway configuration files');
  command
    .command('validate')
    .argument('<file>', 'portcullis.yaml to check')
    .option('--secrets', 'also resolve every secret reference (env: and file:), without printing any value')
    .description(
      'validate a configuration file and the OpenAPI documents and policy files it names; prints every problem with the path to the bad key',
    )
    .action(async (file: string, options: { secrets?: boolean }) => {
      try {
        const loaded = await loadConfigFile(file);
        // The checks the gateway runs when it starts (config/checks.ts, then the preflight), so the two agree;
        // the reports below add detail.
        assertConfigUsable(loaded);
        for (const warning of await assertPreflight(loaded))
          io.stderr(`warning: ${warning.path}: ${warning.message}
`);
        const { connectors, agents, policy } = loaded.config;
        const checks = await checkConnectors(loaded.config, loaded.baseDir);
        let failed = false;
        const policyCheck = await checkPolicyFiles(loaded.config);
        for (const problem of policyCheck.problems) io.stderr(`${problem}\n`);
        for (const warning of policyCheck.warnings) io.stderr(`warning: ${warning}\n`);
        if (policyCheck.problems.length > 0) failed = true;
        else if (policyCheck.rules !== undefined)
          io.stdout(`policy: ${policyCheck.rules} rules in ${policy.files.length} files\n`);
        const references = secretReferences(loaded.config);
        if (options.secrets === true) {
          const problems = await checkSecretReferences(loaded.config, { env: io.env, baseDir: loaded.baseDir });
          for (const problem of problems) io.stderr(`${problem}\n`);
          if (problems.length > 0) failed = true;
          else io.stdout(`secrets: ${references.length} references resolved\n`);
        } else if (references.length > 0) {
          io.stdout(`secrets: ${references.length} references, not resolved (--secrets resolves them)\n`);
        }
        for (const check of checks) {
          if (check.error !== undefined) {
            failed = true;
            io.stderr(`${check.error}\n`);
            continue;
          }
          const skipped = check.warnings.length;
          io.stdout(
            `connector ${check.id}: ${check.tools} tools${skipped > 0 ? `, ${skipped} OpenAPI operations or parameters skipped:` : ''}\n`,
          );
          for (const warning of check.warnings) io.stdout(`  ${warning}\n`);
        }
        if (failed) {
          io.stderr(`${loaded.file}: invalid\n`);
          io.setExitCode(1);
          return;
        }
        io.stdout(
          `${loaded.file}: valid (${connectors.length} connectors, ${agents.length} agents, ${policy.files.length} policy files)\n`,
        );
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        io.stderr(`${error.message}\n`);
        io.setExitCode(1);
      }
    });
  command
    .command('schema')
    .description('print the JSON Schema of the configuration file (for editors)')
    .action(() => {
      io.stdout(`${JSON.stringify(gatewayConfigJsonSchema(), null, 2)}\n`);
    });
  return command;
}
