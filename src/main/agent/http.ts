// The agent's HTTP endpoint: `/` the status page, `/status` its JSON,
// `/metrics` the Prometheus exposition, `/health` 200 or 503 with the reasons,
// and `/rolling-restart`:
//
//   POST /rolling-restart {"hook": "http://...", "delayMs": 0, "healthTimeoutMs": 30000}
//        on the leader: 202, and a rolling restart runs (ClusterNode.rollingRestart)
//        whose restart step POSTs {"nodeId": id} to the hook (the deployment's
//        supervisor restarts that process and answers 2xx); elsewhere 409 naming
//        the leader. The body is at most 4 KiB; the hook must be http(s).
//   GET  /rolling-restart   {"running": bool, "report": the last report or null}
//
// Other methods are 405, unknown paths 404.
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ClusterNode, RollingRestartReport } from '../cluster/cluster-node.js';
import { STATUS_PAGE } from './page.js';
import type { StatusReporter } from './status.js';

const MAX_BODY_BYTES = 4096;

export async function serveHttp(node: ClusterNode, reporter: StatusReporter, host: string, port: number, logger?: Logger): Promise<{ server: http.Server; address: AddressInfo }> {
  const restarts = new RollingRestarts(node, logger);
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/rolling-restart' && req.method === 'POST') {
      readBody(req).then(
        (body) => {
          const [status, answer] = restarts.start(body);
          send(status, 'application/json', JSON.stringify(answer));
        },
        (error: Error) => send(413, 'application/json', JSON.stringify({ error: error.message })),
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: path === '/rolling-restart' ? 'GET, HEAD, POST' : 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/rolling-restart':
        send(200, 'application/json', JSON.stringify({ running: restarts.running, report: restarts.report }));
        return;
      case '/':
        send(200, 'text/html; charset=utf-8', STATUS_PAGE);
        return;
      case '/status':
        send(200, 'application/json', JSON.stringify(reporter.report()));
        return;
      case '/health': {
        const h = node.health();
        send(h.healthy ? 200 : 503, 'application/json', JSON.stringify({ status: h.status, reasons: h.reasons }));
        return;
      }
      case '/metrics':
        node.metricsText().then(
          (text) => send(200, node.metricsRegistry.contentType, text),
          (error: Error) => send(500, 'text/plain', error.message),
        );
        return;
      default:
        send(404, 'text/plain', 'not found\n');
    }
  });
  server.keepAliveTimeout = 5_000;
  server.listen(port, host);
  await once(server, 'listening');
  return { server, address: server.address() as AddressInfo };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > MAX_BODY_BYTES) {
        req.destroy();
        reject(new Error(`body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** The rolling restarts this agent runs as leader, one at a time. */
class RollingRestarts {
  running = false;
  report: RollingRestartReport | { readonly error: string } | null = null;

  constructor(
    private readonly node: ClusterNode,
    private readonly logger?: Logger,
  ) {}

  /** Starts one from a request body; the HTTP status and answer. */
  start(body: string): [number, unknown] {
    let input: { hook?: unknown; delayMs?: unknown; healthTimeoutMs?: unknown };
    try {
      input = JSON.parse(body) as typeof input;
    } catch {
      return [400, { error: 'the body must be JSON' }];
    }
    const hook = typeof input.hook === 'string' && /^https?:\/\//.test(input.hook) ? input.hook : null;
    if (hook === null) return [400, { error: 'hook: expected an http(s) URL' }];
    const ms = (v: unknown, fallback: number): number | null => (v === undefined ? fallback : Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 3_600_000 ? (v as number) : null);
    const delayMs = ms(input.delayMs, 0);
    const healthTimeoutMs = ms(input.healthTimeoutMs, 30_000);
    if (delayMs === null || healthTimeoutMs === null) return [400, { error: 'delayMs and healthTimeoutMs: integers of ms up to an hour' }];
    if (!this.node.isLeader) return [409, { error: 'not the leader', leader: this.node.leader() }];
    if (this.running) return [409, { error: 'a rolling restart is running' }];
    this.running = true;
    const restart = async (nodeId: string): Promise<void> => {
      this.logger?.info({ member: nodeId }, 'rolling restart: restarting');
      const res = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nodeId }), signal: AbortSignal.timeout(healthTimeoutMs) });
      if (!res.ok) throw new Error(`hook answered ${res.status}`);
    };
    this.node.rollingRestart({ restart, delayMs, healthTimeoutMs }).then(
      (report) => {
        this.report = report;
        this.logger?.info({ report }, 'rolling restart finished');
      },
      (error: Error) => {
        this.report = { error: error.message };
        this.logger?.warn({ err: error.message }, 'rolling restart failed');
      },
    ).finally(() => (this.running = false));
    return [202, { started: true, leader: this.node.id }];
  }
}
