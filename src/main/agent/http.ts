// The agent's HTTP endpoint: `/` the status page, `/status` its JSON,
// `/metrics` the Prometheus exposition, `/health` 200 or 503 with the reasons.
// GET and HEAD only; anything else is 405, unknown paths 404.
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { STATUS_PAGE } from './page.js';
import type { StatusReporter } from './status.js';

export async function serveHttp(node: ClusterNode, reporter: StatusReporter, host: string, port: number): Promise<{ server: http.Server; address: AddressInfo }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    switch (path) {
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
