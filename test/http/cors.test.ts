import t from 'tap';
import { corsHeaders } from '../../src/http/cors.js';
import { loadConfig } from '../../src/config/config.js';

t.test('CORS: * for everyone, or the request\'s origin when it is on the list (and Vary: Origin)', async (t) => {
  t.same(corsHeaders('https://anyone.example', '*'), { 'access-control-allow-origin': '*' });
  const list = ['https://player.example.com', 'http://localhost:8080'];
  t.same(corsHeaders('https://player.example.com', list), { 'access-control-allow-origin': 'https://player.example.com', vary: 'Origin' });
  t.same(corsHeaders('HTTPS://Player.Example.com', list), { 'access-control-allow-origin': 'HTTPS://Player.Example.com', vary: 'Origin' }, 'origins compare without case');
  t.same(corsHeaders('https://evil.example', list), { vary: 'Origin' }, 'another origin: no Allow-Origin, so the browser refuses it');
  t.same(corsHeaders(undefined, list), { vary: 'Origin' });
});

t.test('HTTP_CORS_ORIGINS and the front door\'s limits are checked at start', async (t) => {
  t.equal(loadConfig({}).http.corsOrigins, '*', '* by default');
  t.same(loadConfig({ HTTP_CORS_ORIGINS: 'https://a.example, http://localhost:3000' }).http.corsOrigins, ['https://a.example', 'http://localhost:3000']);
  t.throws(() => loadConfig({ HTTP_CORS_ORIGINS: 'https://a.example/path' }), { variable: 'HTTP_CORS_ORIGINS', message: /"https:\/\/a\.example\/path" is not one/ });
  t.throws(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5' }), { variable: 'HTTP_HEADERS_TIMEOUT_MS', message: /from 100 to/ });
  t.throws(() => loadConfig({ HTTP_TLS_CERT_FILE: '/nonexistent.crt', HTTP_TLS_KEY_FILE: '/nonexistent.key' }), { variable: 'HTTP_TLS_CERT_FILE', message: /cannot be read/ });
  t.throws(() => loadConfig({ HTTP_TLS_KEY_FILE: '/x.key' }), { variable: 'HTTP_TLS_CERT_FILE', message: /must be set when HTTP_TLS_KEY_FILE is/ });
  t.same(
    { timeout: loadConfig({}).http.headersTimeoutMs, keepAlive: loadConfig({}).http.keepAliveTimeoutMs, max: loadConfig({}).http.maxConnections },
    { timeout: 10_000, keepAlive: 5000, max: 4096 },
    'defaults: 10 s for headers, 5 s keep-alive, 4,096 connections per worker',
  );
});
