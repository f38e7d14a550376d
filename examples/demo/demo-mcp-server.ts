/**
 * The demo upstream MCP server (stdio): a small knowledge base with tools, a resource and a prompt.
 * The gateway launches it as a child process (see portcullis.yaml).
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const articles = new Map<string, string>([
  ['vpn', 'If the VPN drops, update the client to 5.2 and disable Wi-Fi power saving.'],
  ['printer', 'Open tray 2, remove the jammed sheet, then power-cycle the printer.'],
  ['refunds', 'Refunds up to 100 EUR are automatic; larger refunds need a team lead.'],
]);

const server = new McpServer({ name: 'demo-kb', version: '1.0.0' });

server.registerTool(
  'search',
  {
    title: 'Search the knowledge base',
    description: 'Find knowledge-base articles whose topic or text contains the query.',
    inputSchema: { query: z.string().min(1).max(200) },
    annotations: { readOnlyHint: true },
  },
  async ({ query }) => {
    const q = query.toLowerCase();
    const hits = [...articles].filter(([topic, text]) => topic.includes(q) || text.toLowerCase().includes(q));
    return {
      content: [
        {
          type: 'text',
          text: hits.length === 0 ? 'No articles found.' : hits.map(([t, text]) => `${t}: ${text}`).join('\n'),
        },
      ],
    };
  },
);

server.registerTool(
  'add_article',
  {
    title: 'Add an article',
    description: 'Add or replace a knowledge-base article.',
    inputSchema: { topic: z.string().regex(/^[a-z0-9-]{1,40}$/), text: z.string().min(1).max(2000) },
    annotations: { destructiveHint: false },
  },
  async ({ topic, text }) => {
    articles.set(topic, text);
    return { content: [{ type: 'text', text: `Saved article "${topic}".` }] };
  },
);

server.registerResource(
  'article',
  new ResourceTemplate('kb://articles/{topic}', {
    list: async () => ({ resources: [...articles.keys()].map((t) => ({ uri: `kb://articles/${t}`, name: t })) }),
  }),
  { description: 'A knowledge-base article', mimeType: 'text/plain' },
  async (uri, { topic }) => ({ contents: [{ uri: uri.href, text: articles.get(String(topic)) ?? '' }] }),
);

server.registerPrompt(
  'triage',
  { description: 'Triage a helpdesk ticket', argsSchema: { ticket: z.string() } },
  ({ ticket }) => ({
    messages: [
      { role: 'user', content: { type: 'text', text: `Triage this ticket and suggest a KB article: ${ticket}` } },
    ],
  }),
);

await server.connect(new StdioServerTransport());
