/**
 * A compose file reduced to what segmentation checks need, from either the file as written or the model
 * `docker-compose config` prints (list or map networks, short or long port syntax, string or list commands).
 */

export interface ComposeServiceModel {
  image?: string;
  build: boolean;
  /** Networks the service joins (empty when it sets `network_mode` instead). */
  networks: string[];
  networkMode?: string;
  /** `hostIp:published:target` (hostIp `0.0.0.0` when the binding names none). */
  publishedPorts: string[];
  secrets: string[];
  environment: Record<string, string>;
  command: string[];
  healthcheck: string[];
  limits: { cpus?: string; memory?: string };
  dependsOn: Record<string, string>;
  readOnly: boolean;
  capDrop: string[];
  securityOpt: string[];
  pidsLimit?: number;
}

export interface ComposeModel {
  services: Record<string, ComposeServiceModel>;
  networks: Record<string, { internal: boolean; subnets: string[] }>;
  secrets: Record<string, { file?: string }>;
}

type Raw = Record<string, unknown>;

function isRaw(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.map(String);
  return [];
}

function keysOrList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => (isRaw(v) ? String(v['source']) : String(v)));
  if (isRaw(value)) return Object.keys(value);
  return [];
}

function port(value: unknown): string | undefined {
  if (typeof value === 'number') return `0.0.0.0:${value}:${value}`;
  if (typeof value === 'string') {
    const parts = value.replace(/\/(tcp|udp)$/, '').split(':');
    if (parts.length === 1) return undefined; // container port only: not published on a fixed host port
    const [hostIp, published, target] = parts.length === 3 ? parts : ['0.0.0.0', ...parts];
    return `${hostIp}:${published}:${target}`;
  }
  if (isRaw(value)) {
    if (value['published'] === undefined) return undefined;
    const hostIp = typeof value['host_ip'] === 'string' ? value['host_ip'] : '0.0.0.0';
    return `${hostIp}:${String(value['published'])}:${String(value['target'])}`;
  }
  return undefined;
}

function environment(value: unknown): Record<string, string> {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((entry) => {
        const [key, ...rest] = String(entry).split('=');
        return [key!, rest.join('=')];
      }),
    );
  }
  if (isRaw(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? '' : String(v)]));
  return {};
}

function dependsOn(value: unknown): Record<string, string> {
  if (Array.isArray(value)) return Object.fromEntries(value.map((name) => [String(name), 'service_started']));
  if (isRaw(value))
    return Object.fromEntries(
      Object.entries(value).map(([name, v]) => [
        name,
        isRaw(v) && typeof v['condition'] === 'string' ? v['condition'] : 'service_started',
      ]),
    );
  return {};
}

export function normalizeCompose(raw: unknown): ComposeModel {
  if (!isRaw(raw) || !isRaw(raw['services'])) throw new Error('not a compose model: no services');
  const services: Record<string, ComposeServiceModel> = {};
  for (const [name, value] of Object.entries(raw['services'])) {
    const service = isRaw(value) ? value : {};
    const deploy = isRaw(service['deploy']) ? service['deploy'] : {};
    const resources = isRaw(deploy['resources']) ? deploy['resources'] : {};
    const limits = isRaw(resources['limits']) ? resources['limits'] : {};
    const healthcheck = isRaw(service['healthcheck']) ? service['healthcheck'] : {};
    const networkMode = typeof service['network_mode'] === 'string' ? service['network_mode'] : undefined;
    services[name] = {
      ...(typeof service['image'] === 'string' ? { image: service['image'] } : {}),
      build: service['build'] !== undefined,
      // A service without `networks` (and without network_mode) is on the project's `default` network.
      networks:
        networkMode !== undefined
          ? []
          : service['networks'] === undefined
            ? ['default']
            : keysOrList(service['networks']),
      ...(networkMode !== undefined ? { networkMode } : {}),
      publishedPorts: (Array.isArray(service['ports']) ? service['ports'] : [])
        .map(port)
        .filter((p): p is string => p !== undefined),
      secrets: keysOrList(service['secrets']),
      environment: environment(service['environment']),
      command: stringList(service['command']),
      healthcheck: healthcheck['disable'] === true ? [] : stringList(healthcheck['test']),
      limits: {
        ...(limits['cpus'] !== undefined ? { cpus: String(limits['cpus']) } : {}),
        ...(limits['memory'] !== undefined ? { memory: String(limits['memory']) } : {}),
      },
      dependsOn: dependsOn(service['depends_on']),
      readOnly: service['read_only'] === true,
      capDrop: stringList(service['cap_drop']),
      securityOpt: stringList(service['security_opt']),
      ...(typeof service['pids_limit'] === 'number' ? { pidsLimit: service['pids_limit'] } : {}),
    };
  }
  const networks: ComposeModel['networks'] = {};
  const rawNetworks = isRaw(raw['networks']) ? raw['networks'] : {};
  for (const [name, value] of Object.entries(rawNetworks)) {
    const network = isRaw(value) ? value : {};
    const ipam = isRaw(network['ipam']) ? network['ipam'] : {};
    const configs = Array.isArray(ipam['config']) ? ipam['config'] : [];
    networks[name] = {
      internal: network['internal'] === true,
      subnets: configs.filter(isRaw).flatMap((c) => (typeof c['subnet'] === 'string' ? [c['subnet']] : [])),
    };
  }
  for (const service of Object.values(services))
    for (const network of service.networks) networks[network] ??= { internal: false, subnets: [] };
  const secrets: ComposeModel['secrets'] = {};
  for (const [name, value] of Object.entries(isRaw(raw['secrets']) ? raw['secrets'] : {})) {
    secrets[name] = isRaw(value) && typeof value['file'] === 'string' ? { file: value['file'] } : {};
  }
  return { services, networks, secrets };
}

/**
 * The services a new container attached only to `network` can open a connection to: every service on that
 * network, and, unless the network is internal (no route out), every service that publishes a port on the
 * host or shares the host's network stack. Conservative on purpose: a port bound to the host's loopback
 * still counts, because containers can often reach it through the host gateway.
 */
export function reachableFrom(model: ComposeModel, network: string): Set<string> {
  const reachable = new Set<string>();
  const internal = model.networks[network]?.internal === true;
  for (const [name, service] of Object.entries(model.services)) {
    if (service.networks.includes(network)) reachable.add(name);
    else if (!internal && (service.publishedPorts.length > 0 || service.networkMode === 'host')) reachable.add(name);
  }
  return reachable;
}
