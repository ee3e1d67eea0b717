// The agent's status page: one self-contained HTML document (no external
// assets) that polls /status every second and redraws the members table, the
// leader, the traffic rates and an SVG chart of the last minute of request
// latency (p50 and p99).
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>clusterwire</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: #5b6475; margin-bottom: 16px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 16px; }
  .card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 10px 14px; min-width: 110px; }
  .card .k { color: #5b6475; font-size: 12px; }
  .card .v { font-size: 18px; font-weight: 600; }
  table { border-collapse: collapse; background: #fff; border: 1px solid #dde1e8; }
  th, td { padding: 6px 12px; border-bottom: 1px solid #eef0f4; text-align: left; }
  th { font-size: 12px; color: #5b6475; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .state { font-weight: 600; }
  .alive { color: #1a7f37; } .suspect { color: #975a16; } .dead { color: #c53030; } .left { color: #4a5568; }
  h2 { font-size: 14px; margin: 20px 0 6px; color: #5b6475; }
  #chart { background: #fff; border: 1px solid #dde1e8; max-width: 100%; height: auto; }
  #error { color: #c53030; }
</style>
</head>
<body>
<main>
<h1>clusterwire <span id="node"></span></h1>
<div class="sub"><span id="cluster"></span> · <span id="health"></span> <span id="error" role="status" aria-live="polite"></span></div>
<div class="cards">
  <div class="card"><div class="k">leader</div><div class="v" id="leader">–</div></div>
  <div class="card"><div class="k">term</div><div class="v" id="term">–</div></div>
  <div class="card"><div class="k">members alive</div><div class="v" id="alive">–</div></div>
  <div class="card"><div class="k">messages in / out per s</div><div class="v" id="msgs">–</div></div>
  <div class="card"><div class="k">requests per s</div><div class="v" id="rps">–</div></div>
  <div class="card"><div class="k">latency p50 / p99</div><div class="v" id="lat">–</div></div>
</div>
<h2 id="members-heading">members</h2>
<table aria-labelledby="members-heading">
  <thead><tr><th scope="col">member</th><th scope="col">state</th><th scope="col">incarnation</th><th scope="col">datacenter</th><th scope="col">gossip address</th><th scope="col">RTT ms</th></tr></thead>
  <tbody id="members"></tbody>
</table>
<h2>request latency</h2>
<svg id="chart" width="720" height="200" viewBox="0 0 720 200" role="img" aria-label="request latency, last minute"></svg>
</main>
<script>
const $ = (id) => document.getElementById(id);
const fmt = (n, d = 0) => (n === null || n === undefined ? '–' : Number(n).toFixed(d));
function row(m) {
  const tr = document.createElement('tr');
  tr.dataset.member = m.nodeId;
  tr.dataset.state = m.state;
  const cells = [m.nodeId + (m.self ? ' (this node)' : ''), m.state, String(m.incarnation), m.datacenter || '–', m.gossipAddress, fmt(m.rttMs, 2)];
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (i === 1) td.className = 'state ' + m.state;
    if (i === 2 || i === 5) td.className = 'num';
    tr.appendChild(td);
  });
  return tr;
}
function chart(history) {
  const svg = $('chart');
  const W = 720, H = 200, L = 72, B = 24, T = 12;
  const max = Math.max(1, ...history.map((s) => s.p99Ms));
  const x = (i) => L + (i * (W - L - 8)) / Math.max(1, history.length - 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const line = (key, color) => '<polyline fill="none" stroke="' + color + '" stroke-width="2" points="' + history.map((s, i) => x(i).toFixed(1) + ',' + y(s[key]).toFixed(1)).join(' ') + '"/>';
  svg.innerHTML =
    '<line x1="' + L + '" y1="' + (H - B) + '" x2="' + W + '" y2="' + (H - B) + '" stroke="#ccd"/>' +
    '<text x="' + (L - 6) + '" y="' + (T + 10) + '" text-anchor="end" font-size="11" fill="#5b6475">' + max.toFixed(2) + ' ms</text>' +
    '<text x="' + (L - 6) + '" y="' + (H - B) + '" text-anchor="end" font-size="11" fill="#5b6475">0</text>' +
    '<text x="' + L + '" y="' + (H - 6) + '" font-size="11" fill="#5b6475">request latency, last ' + history.length + ' s — <tspan fill="#2b6cb0" font-weight="600">━ p50</tspan>  <tspan fill="#dd6b20" font-weight="600">━ p99</tspan></text>' +
    (history.length > 1 ? line('p50Ms', '#2b6cb0') + line('p99Ms', '#dd6b20') : '');
}
async function refresh() {
  try {
    const s = await (await fetch('status', { cache: 'no-store' })).json();
    $('error').textContent = '';
    $('node').textContent = s.node;
    document.title = 'clusterwire ' + s.node;
    $('cluster').textContent = 'cluster ' + s.cluster + ' · pid ' + s.pid;
    $('health').textContent = s.health.status + (s.health.reasons.length ? ' (' + s.health.reasons.join('; ') + ')' : '');
    $('leader').textContent = s.leader ? s.leader.nodeId : 'none';
    $('term').textContent = s.leader ? s.leader.term : '–';
    $('alive').textContent = s.members.filter((m) => m.state === 'alive').length + ' / ' + s.members.length;
    $('msgs').textContent = fmt(s.rates.messagesInPerSec) + ' / ' + fmt(s.rates.messagesOutPerSec);
    const last = s.traffic.last;
    $('rps').textContent = last ? String(last.completed) : '–';
    $('lat').textContent = last ? fmt(last.p50Ms, 2) + ' / ' + fmt(last.p99Ms, 2) + ' ms' : '–';
    const body = $('members');
    body.replaceChildren(...s.members.map(row));
    chart(s.traffic.history);
  } catch (e) {
    $('error').textContent = 'agent unreachable: ' + e.message;
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
