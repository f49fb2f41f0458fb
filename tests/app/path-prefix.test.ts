import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startAppForTest, type AppTestServer } from '../helpers/app-test-server';

/** ROOT_URL's path moves everything, as in Meteor: DDP, SockJS and the page. */
describe('ROOT_URL with a path prefix', () => {
  let app: AppTestServer;
  before(async () => (app = await startAppForTest({ ROOT_URL: 'http://localhost:3000/app' })));
  after(() => app.close());

  test('DDP answers at /app/websocket and not at /websocket', async () => {
    const { client, session } = await RawDdpClient.connect(`${app.url.replace('http', 'ws')}/app/websocket`);
    assert.equal(session.length, 17);
    client.close();
    await assert.rejects(RawDdpClient.open(`${app.url.replace('http', 'ws')}/websocket`));
  });

  test('SockJS answers at /app/sockjs and the dashboard at /app/', async () => {
    assert.equal((await fetch(`${app.url}/app/sockjs/info`)).status, 200);
    const page = await fetch(`${app.url}/app/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app">/);
  });

  test('paths outside the built page are not served', async () => {
    assert.equal((await fetch(`${app.url}/app/../package.json`)).status, 404);
    assert.equal((await fetch(`${app.url}/app/%2e%2e/package.json`)).status, 404);
    assert.equal((await fetch(`${app.url}/application/index.html`)).status, 404);
    assert.equal((await fetch(`${app.url}/index.html`)).status, 404, 'the page lives under the prefix only');
  });
});
