/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core): an operator signs
 * in, sees the agent's pending request with its context, approves it, and the agent's waiting call
 * completes. A screenshot is kept in test-artifacts/ for people to look at.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { digestApiKey, generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { writePolicy } from './helpers/policy.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';

describe(
  'operator console in Chromium',
  { skip: existsSync(CHROMIUM) ? false : 'Debian chromium is not installed (.ci/run installs it)' },
  () => {
    let backend: Awaited<ReturnType<typeof startHttpBackend>>;
    let gw: TestGateway;
    let browser: Browser;
    const operatorToken = generateApiKey();

    before(async () => {
      backend = await startHttpBackend();
      const policyFile = await writePolicy({
        version: 1,
        name: 'console-test',
        rules: [{ id: 'deletes-need-approval', effect: 'approve', tools: ['git_delete_repo'] }],
      });
      gw = await startTestGateway(
        {
          connectors: [
            {
              id: 'git',
              kind: 'http',
              baseUrl: backend.url,
              tools: [
                {
                  name: 'delete_repo',
                  method: 'DELETE',
                  path: '/repos/{owner}/{repo}',
                  inputSchema: {
                    type: 'object',
                    properties: { owner: { type: 'string' }, repo: { type: 'string' } },
                    required: ['owner', 'repo'],
                    additionalProperties: false,
                  },
                },
              ],
            },
          ],
          egress: { connectors: { git: { allowPrivate: ['127.0.0.1/32'] } } },
          policy: { files: [policyFile], watch: false },
          operators: [{ id: 'olivia', roles: ['approver'], tokens: [{ sha256: digestApiKey(operatorToken) }] }],
          approvals: { mode: 'wait', waitSeconds: 60 },
        },
        [{ id: 'cleanup-bot' }],
      );
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    });
    after(async () => {
      await browser?.close();
      await gw?.close();
      await backend?.close();
    });

    it('lists a pending request, approves it, and the waiting call completes', async () => {
      const agent = await gw.connect('cleanup-bot');
      const before = backend.requests.length;
      const call = agent.callTool(
        { name: 'git_delete_repo', arguments: { owner: 'acme', repo: 'old-site' } },
        undefined,
        { timeout: 60_000 },
      );

      const page = await browser.newPage();
      await page.goto(`${gw.gateway.baseUrl}/console/`);
      await page.getByLabel('Operator token').fill(operatorToken);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const ticket = page.locator('li.ticket', { hasText: 'git_delete_repo' });
      await ticket.waitFor({ timeout: 15_000 });
      assert.match((await ticket.textContent()) ?? '', /cleanup-bot/);
      assert.match((await ticket.textContent()) ?? '', /DELETE .*\/repos\/acme\/old-site/);
      assert.equal(backend.requests.length, before, 'nothing reached the backend while pending');

      await mkdir(path.join(root, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: path.join(root, 'test-artifacts', 'console-pending.png'), fullPage: true });

      await ticket.getByLabel('Reason').fill('old site retired');
      await ticket.getByRole('button', { name: 'Approve' }).click();
      const result = await call;
      assert.notEqual(result.isError, true, JSON.stringify(result));
      const seen = backend.requests.slice(before);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.method, 'DELETE');
      assert.equal(seen[0]?.url, '/repos/acme/old-site');

      await page.locator('#history tr', { hasText: 'approved' }).waitFor({ timeout: 10_000 });
      await page.screenshot({ path: path.join(root, 'test-artifacts', 'console-approved.png'), fullPage: true });
      await page.close();
    });

    it('rejects a wrong token', async () => {
      const page = await browser.newPage();
      await page.goto(`${gw.gateway.baseUrl}/console/`);
      await page.getByLabel('Operator token').fill('pc_wrong');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('That token is not valid.').waitFor({ timeout: 5_000 });
      await page.close();
    });
  },
);
