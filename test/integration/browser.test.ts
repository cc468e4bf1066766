import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { chromium } from 'playwright-core';
import { findFreePort } from '../../src/cluster/free-port.js';
import { NginxServer, nginxAvailable } from '../helpers/nginx.js';
import { makeSelfSignedCertificate } from '../helpers/self-signed.js';
import { startService } from '../helpers/service-process.js';

/**
 * End to end in a real browser: headless Chromium (Debian's, driven by playwright-core, which
 * downloads no browser) loads a page from one origin whose script fetch()es the front door, over
 * HTTPS on another origin, and follows its 302 to a local nginx serving an HLS playlist, as
 * hls.js would load a manifest: the playlist's text must arrive in the page.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = spawnSync(CHROMIUM, ['--version'], { stdio: 'ignore' }).status === 0;
if (!available && process.env['CI']) throw new Error('chromium is missing, and CI installs it (.ci/run)');
t.ok(nginxAvailable(), 'nginx is installed (apt-get install nginx)');

const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nsegment0.ts\n#EXT-X-ENDLIST\n';

t.test('a browser player on another origin fetches the front door over HTTPS and follows its redirect to the CDN', { skip: available ? false : "needs Debian's chromium (apt-get install chromium)" }, async (t) => {
  // The CDN: nginx serving the playlist at /s1/video/1/master.m3u8, with CORS as a CDN for players does.
  const cdn = new NginxServer(
    await findFreePort('127.0.0.1'),
    `location /s1/ { add_header Access-Control-Allow-Origin * always; default_type application/vnd.apple.mpegurl; return 200 "${PLAYLIST.replace(/\n/g, '\\n')}"; }`,
  );
  await cdn.start();
  t.teardown(() => cdn.remove());

  const certificate = makeSelfSignedCertificate('front-door');
  t.teardown(() => rmSync(certificate.dir, { recursive: true, force: true }));
  const httpPort = await findFreePort('127.0.0.1');
  const service = await startService({
    WORKERS: '1',
    HTTP_PORT: String(httpPort),
    HTTP_TLS_CERT_FILE: certificate.cert,
    HTTP_TLS_KEY_FILE: certificate.key,
    CDN_HOST: `127.0.0.1:${cdn.port}`,
    ORIGIN_EVERY: '0',
  });
  t.teardown(() => service.stop());

  // The page, from its own origin.
  const frontDoor = `https://localhost:${httpPort}`;
  const video = 'http://s1.origin-cluster/video/1/master.m3u8';
  const page = `<!doctype html><title>player</title><pre id="out">loading</pre><script>
    fetch('${frontDoor}/redirect?video=' + encodeURIComponent('${video}'))
      .then((r) => r.text().then((text) => ({ url: r.url, status: r.status, text })))
      .then((r) => { document.getElementById('out').textContent = JSON.stringify(r); })
      .catch((e) => { document.getElementById('out').textContent = 'error: ' + e; });
  </script>`;
  const site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
  site.listen(0, '127.0.0.1');
  await new Promise((resolve) => site.once('listening', resolve));
  t.teardown(() => site.close());
  const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The front door's certificate is a test's own: trusted here as a player's browser trusts a real one.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--ignore-certificate-errors'],
  });
  t.teardown(() => browser.close());
  const tab = await browser.newPage();
  await tab.goto(siteUrl);
  await tab.waitForFunction(() => document.getElementById('out')?.textContent !== 'loading', undefined, { timeout: 15_000 });
  const text = (await tab.textContent('#out')) ?? '';
  t.notMatch(text, /^error/, `the page got an answer: ${text.slice(0, 200)}`);
  const result = JSON.parse(text) as { url: string; status: number; text: string };
  t.equal(result.status, 200);
  t.equal(result.url, `http://127.0.0.1:${cdn.port}/s1/video/1/master.m3u8`, 'the browser followed the 302 to the CDN');
  t.equal(result.text, PLAYLIST, 'and the playlist arrived in the page');
});
