import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';

/**
 * The dashboard's file server under hostile input (issue 9): aborted
 * requests, unreadable files, odd methods and odd paths must never take the
 * process down or leak descriptors. Each suite serves a temporary root:
 *   <base>/secret.txt           outside the root, must never be served
 *   <base>/www/index.html       the page
 *   <base>/www/main.js          an asset
 *   <base>/www/broken.js     -> /proc/self/mem: stat says "regular file",
 *                               every read fails with EIO (a read error after stat)
 */
const PAGE = '<!doctype html><html><head><link rel="stylesheet" href="main.css" /></head><body><div id="app"></div><script type="module" src="main.js"></script></body></html>\n';

function makeStaticRoot(): { base: string; root: string } {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'static-files-test-')));
  const root = join(base, 'www');
  mkdirSync(root);
  writeFileSync(join(base, 'secret.txt'), 'secret');
  writeFileSync(join(root, 'index.html'), PAGE);
  writeFileSync(join(root, 'main.js'), 'console.log(1);\n');
  symlinkSync('/proc/self/mem', join(root, 'broken.js'));
  return { base, root };
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** node:http sends `path` byte for byte (fetch would normalise `..` and `%2e` away before the server sees them). */
function send(app: AppTestServer, method: string, path: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: app.port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A GET whose client vanishes right after sending it, before any response. */
function abortedGet(port: number, path = '/'): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

/** This process's open descriptors on `file` (the app runs in this process). */
function openFdsOn(file: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) count++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return count;
}

describe('static files: descriptors and read errors', { timeout: 20_000 }, () => {
  let app: AppTestServer;
  let base: string;
  let root: string;
  before(async () => {
    ({ base, root } = makeStaticRoot());
    app = await startAppForTest({}, { staticRoot: root });
  });
  after(async () => {
    await app?.close();
    rmSync(base, { recursive: true, force: true });
  });

  test('1,000 aborted GETs leave no file descriptor open on the page', async () => {
    const page = join(root, 'index.html');
    const baseline = openFdsOn(page);
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(Array.from({ length: 50 }, () => abortedGet(app.port)));
    }
    // A few may still be mid-close; a leaked one never closes.
    let open = openFdsOn(page);
    await waitFor(() => (open = openFdsOn(page)) <= baseline, 3000, 'descriptors to close').catch(() => {});
    assert.equal(open, baseline, `${open - baseline} descriptors on index.html outlived their responses`);
    const fresh = await send(app, 'GET', '/');
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body, PAGE);
  });

  test('a file whose read fails after stat does not take the process down', async () => {
    const failed = await send(app, 'GET', '/broken.js').then(
      (res) => res.status,
      () => 'connection reset',
    );
    assert.notEqual(failed, 200, 'a failed read must not look like a complete, successful response');
    await waitFor(() => openFdsOn(`/proc/${process.pid}/mem`) === 0, 2000, 'the broken file to be closed');
    assert.equal((await send(app, 'GET', '/')).status, 200, 'the process still serves');
  });

  test('a file removed while the server runs gets 404, and the process still serves', async () => {
    rmSync(join(root, 'main.js'));
    assert.equal((await send(app, 'GET', '/main.js')).status, 404);
    assert.equal((await send(app, 'GET', '/')).status, 200);
  });

  test('HEAD answers with headers only and never reads the file', async () => {
    // GET /broken.js fails on its first read, so a 200 here means HEAD did not read it.
    const res = await send(app, 'HEAD', '/broken.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(res.body, '');
    const page = await send(app, 'HEAD', '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-length'], String(Buffer.byteLength(PAGE)));
    assert.equal(openFdsOn(join(root, 'index.html')), 0);
  });
});

describe('static files: headers, methods and paths', { timeout: 20_000 }, () => {
  let app: AppTestServer;
  let base: string;
  before(async () => {
    let root: string;
    ({ base, root } = makeStaticRoot());
    app = await startAppForTest({}, { staticRoot: root });
  });
  after(async () => {
    await app?.close();
    rmSync(base, { recursive: true, force: true });
  });

  test('the page carries a CSP and the anti-framing, no-referrer and nosniff headers', async () => {
    const res = await send(app, 'GET', '/?token=secret');
    assert.equal(res.status, 200);
    const csp = String(res.headers['content-security-policy']);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self' ws: wss:",
      "img-src 'self' data:",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "object-src 'none'",
    ]) {
      assert.ok(csp.split(/;\s*/).includes(directive), `CSP has ${directive}: ${csp}`);
    }
    assert.equal(res.headers['referrer-policy'], 'no-referrer', 'keeps ?token= out of the Referer of main.js and main.css');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  test('every response, error or not, carries nosniff', async () => {
    for (const [method, path] of [['GET', '/main.js'], ['HEAD', '/'], ['GET', '/missing'], ['POST', '/'], ['GET', '/%zz']] as const) {
      const res = await send(app, method, path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', `${method} ${path} (${res.status})`);
    }
  });

  test('methods other than GET and HEAD get 405 with Allow: GET, HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/', '/main.js']) {
        const res = await send(app, method, path);
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.allow, 'GET, HEAD', `${method} ${path}`);
      }
    }
  });

  test('paths that do not exist get 404, whatever the method', async () => {
    for (const method of ['GET', 'HEAD', 'POST']) {
      assert.equal((await send(app, method, '/missing.js')).status, 404, method);
    }
  });

  test('traversal, encoded dots, encoded slashes and NUL get 404', async () => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/%2e%2e/etc/passwd',
      '/..%2fsecret.txt',
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/%00',
      '/index.html%00',
      '/index.html%00.js',
      '/%2e%2e%00/secret.txt',
    ]) {
      const res = await send(app, 'GET', path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /secret|root:/, path);
    }
  });

  test('malformed percent-encoding gets 400', async () => {
    for (const path of ['/%', '/%zz', '/%E0%A4%A', '/%C0%AF', '/index.html%ff']) {
      assert.equal((await send(app, 'GET', path)).status, 400, path);
    }
    assert.equal((await send(app, 'GET', '/')).status, 200, 'the process still serves');
  });
});

describe('static files under ROOT_URL=http://host/app', { timeout: 20_000 }, () => {
  let app: AppTestServer;
  let base: string;
  before(async () => {
    let root: string;
    ({ base, root } = makeStaticRoot());
    app = await startAppForTest({ ROOT_URL: 'http://localhost:3000/app' }, { staticRoot: root });
  });
  after(async () => {
    await app?.close();
    rmSync(base, { recursive: true, force: true });
  });

  test('/app redirects to /app/ (so main.js resolves under /app/), keeping the query', async () => {
    for (const [path, location] of [['/app', '/app/'], ['/app?token=t&x=1', '/app/?token=t&x=1']] as const) {
      const res = await send(app, 'GET', path);
      assert.ok(res.status === 301 || res.status === 308, `${path}: ${res.status}`);
      assert.equal(res.headers.location, location);
    }
    assert.ok([301, 308].includes((await send(app, 'HEAD', '/app')).status), 'HEAD too');
  });

  test('/app/ serves the page and its assets; nothing outside /app is served', async () => {
    const page = await send(app, 'GET', '/app/');
    assert.equal(page.status, 200);
    assert.equal(page.body, PAGE);
    assert.equal((await send(app, 'GET', '/app/main.js')).status, 200);
    for (const path of ['/', '/index.html', '/application', '/app/../secret.txt', '/app/..%2f..%2fsecret.txt', '/app/%2e%2e/www/index.html']) {
      assert.equal((await send(app, 'GET', path)).status, 404, path);
    }
  });
});
