import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { stats } from '../../src/core/insights/stats';
import { RANGES } from '../../src/core/insights/report';
import { renderStatsHtml } from '../../src/core/report/statsHtml';
import { formatStats, safe } from '../../src/core/report/statsText';
import { reportTables, TABLE_IDS, toCsv } from '../../src/core/report/tables';
import { esc } from '../../src/core/report/charts';
import { CLI } from '../helpers/procs';
import { runStats } from '../../src/cli/stats';
import { ai, edit, ev, figures, tmpEvents } from '../helpers/statsEvents';

const NOW = Date.now();
const H = 3_600_000;

test('stats: names from the file such as __proto__ or constructor neither pollute nor throw (issue 13 item 3)', async () => {
  const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'shown', 'valueOf'];
  let s = '';
  for (const name of names) {
    for (const kind of ['shown', 'accepted']) {
      s += ev({ t: NOW - H, type: `ai.completion.${kind}`, source: name, data: { kind, 'gen_ai.request.model': name, 'gen_ai.provider.name': name, detection: name, language_id: name } });
    }
    s += ev({ t: NOW - H, type: name, source: name, sid: name, data: { language_id: name } });
    s += edit(NOW - H, name, 1000);
  }
  const { file } = tmpEvents(s);
  let threw: unknown;
  let r: Awaited<ReturnType<typeof stats>> | undefined;
  try {
    r = await stats({ file, range: 'all' });
    renderStatsHtml(r, undefined, 'N', 'x');
    formatStats(r);
  } catch (err) {
    threw = err;
  }
  const proto = Object.prototype as Record<string, unknown>;
  const polluted = ['shown', 'accepted', 'rejected', 'events'].filter((k) => k in proto);
  for (const k of polluted) delete proto[k];
  assert.deepEqual({ polluted, threw: String(threw) }, { polluted: [], threw: 'undefined' });
  for (const name of names) {
    assert.equal(r!.byType.find((x) => x.type === name)?.events, 1, `type ${name}`);
    assert.equal(r!.bySource.find((x) => x.source === name)?.events, 3, `source ${name}`);
    const m = r!.ai!.byModel.find((x) => x.model === name)!;
    assert.deepEqual([m.provider, m.shown, m.accepted, m.acceptanceRate], [name, 1, 1, null], `model ${name} (its detection is not "reported")`);
    assert.equal(r!.ai!.byDetection.find((x) => x.detection === name)?.accepted, 1, `detection ${name}`);
    assert.equal(r!.editor!.byLanguage.find((x) => x.language === name)?.bursts, 1, `language ${name}`);
  }
  assert.equal(r!.sessions.count, names.length + 1);
});

const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'onmouseover='alert(1)", '</style><svg onload=alert(1)>', 'javascript:alert(1)', '=HYPERLINK("http://x")', '\u001b]52;c;ZXZpbA==\u0007', '&amp;<!--'];

const OUR_TAGS = new Set(['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'header', 'h1', 'h2', 'h3', 'nav', 'ul', 'li', 'a', 'p', 'main', 'section', 'div', 'b', 'svg', 'rect', 'text', 'line', 'span', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'details', 'summary', 'code', 'footer']);

async function hostileReport(): Promise<{ file: string; r: Awaited<ReturnType<typeof stats>> }> {
  let s = '';
  HOSTILE.forEach((h, i) => {
    const t = NOW - (i + 1) * H;
    s += ai(t, 'shown', { 'gen_ai.provider.name': h, 'gen_ai.request.model': h, language_id: h, detection: h, latency_ms: 10 });
    s += ev({ t, type: h, source: h, sid: h });
    s += edit(t, h, 500);
    s += ev({ t, type: 'session.end', data: { stats: { lockWait: { p99Ms: 0.5, maxMs: 2 }, backend: h } } });
  });
  const { file } = tmpEvents(s);
  return { file, r: await stats({ file, range: '7d', now: NOW }) };
}

test('stats page: strict CSP, no script, no style attributes, every string from the file escaped (hostile values)', async () => {
  const { r } = await hostileReport();
  for (const range of RANGES) {
    const html = renderStatsHtml({ ...r, range: { ...r.range, name: range } }, undefined, 'NONCE', 'vscode-resource:');
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src vscode-resource:; style-src 'nonce-NONCE';">/);
    const tags = [...html.matchAll(/<[^>]*>/g)].map((m) => m[0]);
    const names = new Set(tags.map((t) => /^<\/?([!a-zA-Z][a-zA-Z0-9]*)/.exec(t)?.[1]?.toLowerCase()));
    assert.deepEqual([...names].filter((x) => !OUR_TAGS.has(x!)), [], 'only the page\'s own elements');
    assert.deepEqual(tags.filter((t) => /\son[a-z]+=|javascript:/i.test(t)), [], 'no event handler or script link in any tag');
    assert.doesNotMatch(html, /\sstyle="/, 'no style attributes: the CSP would block them');
    for (const h of HOSTILE) assert.ok(html.includes(esc(h)), `escaped: ${h}`);
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
    assert.ok(hrefs.length >= 4 + 2 * 10, 'range links and two CSV links per table');
    for (const h of hrefs) assert.match(h, /^command:telemetrySink\.(showStatistics|statsCsv)\?%5B/, 'links run only our two commands');
    assert.match(html, new RegExp(`aria-current="page" class="current">${{ '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days', all: 'All time' }[range]}<`));
  }
  const html = renderStatsHtml(r, undefined, 'N', 'x');
  assert.match(html, /<th scope="col"/);
  assert.match(html, /role="region" aria-labelledby="t-ai-by-model" tabindex="0"/, 'wide tables scroll with the keyboard');
  assert.match(html, /role="img" aria-label="AI completions shown and accepted per day"/);
  assert.equal((html.match(/>Copy as CSV</g) ?? []).length, TABLE_IDS.length);
});

test('CSV: RFC 4180 quoting, formula-looking text defused, numbers exact; text output escapes terminal controls', async () => {
  const { r } = await hostileReport();
  const t = reportTables(r).find((x) => x.id === 'ai-by-model')!;
  const csv = toCsv(t);
  assert.equal(csv.split('\r\n')[0], 'provider,model,locality,shown,accepted,partially_accepted,rejected,errors,acceptance_rate,chars_accepted,lines_accepted,latency_p50_ms,latency_p95_ms,latency_p99_ms,input_tokens,output_tokens');
  assert.match(csv, /^"'=HYPERLINK\(""http:\/\/x""\)","'=HYPERLINK\(""http:\/\/x""\)",not said,1,0,/m);
  assert.ok(csv.includes(`"""><img src=x onerror=alert(1)>"`), 'quotes doubled inside a quoted cell');
  assert.equal(toCsv({ id: 'x', title: 'x', columns: [{ id: 'a', title: 'a', kind: 'text' }, { id: 'n', title: 'n', kind: 'int' }], rows: [['a,b', 3], [' pad', null], ['-1', 2]] }), 'a,n\r\n"a,b",3\r\n" pad",\r\n\'-1,2\r\n');
  const text = formatStats(r);
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'no raw control characters reach the terminal');
  assert.ok(text.includes('\\x1b]52;c;ZXZpbA==\\x07'));
  assert.equal(safe('a\u202eb\u0085c'), 'a\\u202eb\\x85c');
});

test('CLI stats --range/--json/--csv/--table prints the same numbers as the page; usage errors exit 2', async () => {
  let s = '';
  for (let i = 0; i < 40; i++) s += ai(NOW - i * H, i % 4 ? 'shown' : 'accepted', { 'gen_ai.request.model': `m${i % 2}`, is_local: i % 2 === 0, latency_ms: 100 + i, language_id: 'go' });
  for (let i = 0; i < 10; i++) s += edit(NOW - i * 5 * H, 'go', 90_000);
  const { file } = tmpEvents(s);
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'stats', '--file', file, ...args], { encoding: 'utf8' });
  for (const range of ['7d', 'all'] as const) {
    const j = cli('--range', range, '--json');
    assert.equal(j.status, 0, j.stderr);
    const viaCli = JSON.parse(j.stdout) as Awaited<ReturnType<typeof stats>>;
    const inProcess = await stats({ file, range, now: Date.parse(viaCli.generatedAt) });
    assert.deepEqual(figures(viaCli), figures(inProcess), range);
    if (range === '7d') assert.equal(cli('--range', range, '--csv', '--table', 'ai-by-model').stdout, toCsv(reportTables(inProcess).find((t) => t.id === 'ai-by-model')!));
  }
  const text = cli('--range', '7d');
  assert.equal(text.status, 0);
  assert.match(text.stdout, /^Last 7 days \(/);
  assert.match(text.stdout, /AI completions by model:\n\s+Provider\s+Model\s+Where\s+Shown\s+Accepted\s+Acceptance\s+p50\s+p95\n/);
  assert.match(text.stdout, /Editor activity by day:/);
  assert.match(cli('--csv').stdout, /^day,provider,model,locality,detection,language,shown,/, 'default table: ai-groups');
  assert.equal(cli('--range', 'week').status, 2);
  await assert.rejects(runStats(['--json', '--csv']), /--json and --csv cannot be used together/);
  await assert.rejects(runStats(['--table', 'ai-by-model']), /--table needs --csv/);
  await assert.rejects(runStats(['--csv', '--table', 'nope']), /--table must be one of/);
  assert.equal(cli('--max-problems', '3').status, 2, "verify's flags are not stats' flags");
  const missing = spawnSync(process.execPath, [CLI, 'stats', '--file', file + '.nope'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /ERR_NOT_FOUND/);
  const empty = tmpEvents(ev({ t: NOW, type: 'x.y' }));
  assert.equal(spawnSync(process.execPath, [CLI, 'stats', '--file', empty.file, '--csv', '--table', 'ai-by-day'], { encoding: 'utf8' }).stdout.split('\r\n')[1], '', 'a table without data is its header row');
  assert.ok(fs.existsSync(file + '.stats-cache'));
  assert.equal(cli('--no-cache', '--json').status, 0);
});
