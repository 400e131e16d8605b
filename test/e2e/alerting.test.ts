/**
 * Alerting end to end, on the real runtime with every module wired as `npm start` wires
 * them: a monitored HTTP service on loopback goes down → the probes confirm it after the
 * monitor's failure threshold → an alert event opens → its notice is queued in the same
 * transaction → the delivery job signs and posts it to the webhook channel the monitor
 * names; the service recovers → the event resolves → the resolved notice follows. Time is a
 * ManualClock; the jobs are run by hand through the job runner.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/domain/clock.ts';
import { startSink, type HttpSink } from '../../src/modules/notifications/notify-test-kit.ts';
import { buildTestRuntime, type TestRuntime } from '../support/app.ts';
import { loginAs } from '../support/auth.ts';
import { forEachBackend } from '../support/backends.ts';

const HMAC = 'e2e-signing-secret-0123456789';

/** The sink's next request, or a failure after a generous bound (a notice that never comes must not hang the suite). */
function within<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_r, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not arrive`)), ms)))]).finally(() => clearTimeout(timer));
}

forEachBackend('alerting end to end', (kind) => {
  let rt: TestRuntime;
  let clock: ManualClock;
  let target: Server;
  let targetUrl: string;
  let up = true;
  let sink: HttpSink;

  before(async () => {
    target = createServer((_req, res) => res.writeHead(up ? 200 : 503).end(up ? 'fine' : 'broken'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/health`;
    sink = await startSink();
    // Near real time: probes and alerts store their times; ingest-side checks compare with the wall clock.
    clock = new ManualClock(new Date(Math.floor(Date.now() / 60_000) * 60_000));
    rt = await buildTestRuntime(kind, { outboundAllow: ['127.0.0.0/8'] }, { clock });
  });
  after(async () => {
    await rt?.destroy();
    target.close();
    await sink?.close();
  });

  const step = async (seconds: number, ...jobs: string[]) => {
    clock.advance(seconds * 1000);
    for (const j of jobs) assert.equal((await rt.jobs.runOnce(j)).outcome, 'ok', j);
  };

  test('a service that goes down is told to its channel, signed; its recovery too', async () => {
    const admin = await loginAs(rt, 'admin');
    const ch = await rt.app.inject({
      method: 'POST',
      url: '/api/v1/notification-channels',
      headers: { authorization: admin },
      payload: { name: 'ops-hook', kind: 'webhook', config: { url: `${sink.url}/hook` }, secrets: { hmacSecret: HMAC }, groupWaitSeconds: 0, groupIntervalSeconds: 10 },
    });
    assert.equal(ch.statusCode, 201, ch.body);
    const channelId = ch.json<{ id: number }>().id;
    const mon = await rt.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: { authorization: admin },
      payload: { name: 'web', kind: 'http', target: targetUrl, intervalSeconds: 10, timeoutMs: 5000, failureThreshold: 2, successThreshold: 1, channelIds: [channelId] },
    });
    assert.equal(mon.statusCode, 201, mon.body);
    assert.deepEqual(mon.json<{ channelIds: number[] }>().channelIds, [channelId]);

    await step(0, 'probes');
    await step(10, 'probes');
    up = false;
    await step(10, 'probes'); // first failure: not down yet (threshold 2)
    let alerts = (await rt.app.inject({ method: 'GET', url: '/api/v1/alerts?service=web', headers: { authorization: admin } })).json<{ items: { status: string }[] }>();
    assert.deepEqual(alerts.items, [], 'one failure is not an outage');
    await step(10, 'probes'); // second failure: down
    alerts = (await rt.app.inject({ method: 'GET', url: '/api/v1/alerts?service=web', headers: { authorization: admin } })).json();
    assert.equal(alerts.items.length, 1);
    assert.equal(alerts.items[0]!.status, 'firing');

    const arrived = sink.nextRequest();
    await step(1, 'notification-delivery');
    const fired = await within(arrived, 'the firing notice');
    assert.equal(fired.url, '/hook');
    const ts = String(fired.headers['x-opsdeck-timestamp']);
    const expected = createHmac('sha256', HMAC).update(`${ts}.${fired.body}`).digest('hex');
    assert.equal(fired.headers['x-opsdeck-signature'], `v1=${expected}`, 'signed with the channel secret');
    const body = JSON.parse(fired.body) as { status: string; alerts: { status: string; labels: Record<string, string> }[] };
    assert.equal(body.status, 'firing');
    assert.equal(body.alerts[0]!.labels.service, 'web');
    assert.equal(body.alerts[0]!.labels.alertname, 'ServiceDown');

    up = true;
    await step(10, 'probes'); // one success is enough (threshold 1): healthy, the event resolves
    alerts = (await rt.app.inject({ method: 'GET', url: '/api/v1/alerts?service=web', headers: { authorization: admin } })).json();
    assert.equal(alerts.items[0]!.status, 'resolved');
    const resolvedArrives = sink.nextRequest();
    await step(11, 'notification-delivery');
    const resolved = JSON.parse((await within(resolvedArrives, 'the resolved notice')).body) as { status: string; alerts: { status: string }[] };
    assert.equal(resolved.status, 'resolved');
    assert.equal(resolved.alerts[0]!.status, 'resolved');
    assert.equal(sink.requests.length, 2, 'one notice for the outage, one for the recovery');
  });
});
