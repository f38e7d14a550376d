/**
 * The eval network namespace: egress scenarios that need the gateway's egress guard talk to backends that
 * really listen on private, carrier-grade NAT and cloud metadata addresses, reached by literal IPs and by
 * names from the namespace's own hosts file. Those addresses exist only on the loopback interface of a network
 * namespace the run creates (`unshare -n -m`, as root), so even with a defence disabled no packet can leave
 * for a real non-loopback address: the namespace has no other interface.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { networkInterfaces } from 'node:os';

/** Set inside the namespace by the setup script; checked together with the interfaces themselves. */
export const NAMESPACE_FLAG = 'PORTCULLIS_EVAL_NETNS';

/** Addresses added to the namespace's loopback interface. */
export const NAMESPACE_ADDRESSES = {
  private10: '10.20.0.5',
  private172: '172.16.5.5',
  private192: '192.168.50.5',
  /** A second 192.168/16 address, outside any egress setting (a redirect target). */
  private192Other: '192.168.7.7',
  cgnat: '100.100.100.200',
  metadata: '169.254.169.254',
  azureWireServer: '168.63.129.16',
  metadataV6: 'fd00:ec2::254',
  /** 10.20.0.5 inside the NAT64 well-known prefix 64:ff9b::/96. */
  nat64: '64:ff9b::a14:5',
  /** 169.254.169.254 inside the NAT64 well-known prefix. */
  metadataNat64: '64:ff9b::a9fe:a9fe',
} as const;

/** The namespace's /etc/hosts as [address, name] lines; a name listed twice resolves to both addresses. */
export const NAMESPACE_HOSTS: readonly (readonly [string, string])[] = [
  [NAMESPACE_ADDRESSES.private10, 'intranet.corp.test'],
  [NAMESPACE_ADDRESSES.metadata, 'metadata.cloud.test'],
  [NAMESPACE_ADDRESSES.azureWireServer, 'wire.cloud.test'],
  [NAMESPACE_ADDRESSES.private192, 'partner.example.test'],
  // One allowed and one inward answer: the inward one must poison the name.
  [NAMESPACE_ADDRESSES.private192, 'mixed.example.test'],
  [NAMESPACE_ADDRESSES.private10, 'mixed.example.test'],
  ['127.0.0.1', 'localhost'],
];

/** True only inside the namespace: the flag is set, loopback is the only interface and it holds the addresses. */
export function inEvalNamespace(): boolean {
  if (process.env[NAMESPACE_FLAG] !== '1') return false;
  const interfaces = networkInterfaces();
  const names = Object.keys(interfaces);
  if (names.length !== 1 || names[0] !== 'lo') return false;
  const held = new Set((interfaces['lo'] ?? []).map((a) => a.address));
  return Object.values(NAMESPACE_ADDRESSES).every((a) => held.has(a));
}

function setupScript(): string {
  const v4 = Object.values(NAMESPACE_ADDRESSES).filter((a) => !a.includes(':'));
  const v6 = Object.values(NAMESPACE_ADDRESSES).filter((a) => a.includes(':'));
  const hosts = NAMESPACE_HOSTS.map(([address, name]) => `${address} ${name}`).join('\\n');
  return [
    'set -e',
    'ip link set lo up',
    ...v4.map((a) => `ip addr add ${a}/32 dev lo`),
    ...v6.map((a) => `ip -6 addr add ${a}/128 dev lo nodad`),
    'hosts=$(mktemp)',
    `printf '${hosts}\\n::1 localhost\\n' > "$hosts"`,
    'mount --bind "$hosts" /etc/hosts',
    `export ${NAMESPACE_FLAG}=1`,
    'exec "$@"',
  ].join('\n');
}

/** Whether this process may create the namespace (root, with unshare and ip on PATH). */
export function canCreateEvalNamespace(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync('unshare', ['-n', '-m', '--', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
  return probe.status === 0;
}

/** Runs `command args...` inside a fresh eval namespace, with inherited stdio; returns its exit status. */
export function runInEvalNamespace(command: string, args: readonly string[]): SpawnSyncReturns<Buffer> {
  return spawnSync('unshare', ['-n', '-m', '--', 'sh', '-c', setupScript(), 'eval-netns', command, ...args], {
    stdio: 'inherit',
    env: process.env,
  });
}
