import t from 'tap';
import { OriginAllowList } from '../../src/routing/origin-allow-list.js';
import { InvalidVideoError } from '../../src/routing/invalid-video-error.js';
import { MAX_VIDEO_URL_LENGTH, parseVideoUrl, VideoUrlParts } from '../../src/routing/video-url.js';

const allowList = new OriginAllowList(['*.origin-cluster']);

function parse(video: string, list = allowList): { serverName: string; rest: string; upper: boolean } {
  const parts = new VideoUrlParts();
  parseVideoUrl(video, list, parts);
  return {
    serverName: video.slice(parts.serverNameStart, parts.serverNameEnd),
    rest: video.slice(parts.pathStart),
    upper: parts.serverNameHasUpperCase,
  };
}

t.test('finds the origin server and keeps path, query and fragment as sent', async (t) => {
  const rows: Array<[string, string, string]> = [
    ['http://s1.origin-cluster/video/123/xcg2djHckad.m3u8', 's1', '/video/123/xcg2djHckad.m3u8'],
    ['https://s2.origin-cluster/v/1.ts', 's2', '/v/1.ts'],
    ['http://s1.origin-cluster:8080/v/1.ts', 's1', '/v/1.ts'],
    ['HTTP://S1.ORIGIN-CLUSTER/V/1.ts', 'S1', '/V/1.ts'],
    ['http://s1.origin-cluster/v/1.m3u8?token=a%2Fb&exp=1', 's1', '/v/1.m3u8?token=a%2Fb&exp=1'],
    ['http://s1.origin-cluster/v;jsessionid=abc/1.ts;v=2', 's1', '/v;jsessionid=abc/1.ts;v=2'],
    ['http://s1.origin-cluster/a%2Fb/../c/./d.ts', 's1', '/a%2Fb/../c/./d.ts'],
    ['http://s1.origin-cluster/v/1.ts#t=10', 's1', '/v/1.ts#t=10'],
    ['http://edge-7.eu.origin-cluster/x', 'edge-7', '/x'],
    ['http://s1.origin-cluster//double//slash', 's1', '//double//slash'],
  ];
  for (const [video, serverName, rest] of rows) {
    const parsed = parse(video);
    t.equal(parsed.serverName, serverName, `server name of ${video}`);
    t.equal(parsed.rest, rest, `rest of ${video}`);
  }
  t.equal(parse('http://S1.origin-cluster/x').upper, true, 'flags an upper-case server name');
  t.equal(parse('http://s1.ORIGIN-cluster/x').upper, false, 'upper case elsewhere in the host is not flagged');
});

t.test('refuses every invalid kind with a message that says what is wrong', async (t) => {
  const long = `http://s1.origin-cluster/${'a'.repeat(MAX_VIDEO_URL_LENGTH)}`;
  const rows: Array<[string, string]> = [
    ['', 'video: is empty'],
    ['   ', 'video: is empty (only white space)'],
    ['s1.origin-cluster/video/1.ts', 'must be an absolute http or https URL'],
    ['/video/1.ts', 'must be an absolute http or https URL'],
    ['ftp://s1.origin-cluster/v/1.ts', 'scheme must be http or https'],
    ['file:///etc/passwd', 'scheme must be http or https'],
    ['javascript:alert(1)', 'scheme must be http or https'],
    ['data:text/plain,hi', 'scheme must be http or https'],
    ['httpx://s1.origin-cluster/x', 'scheme must be http or https'],
    ['http:s1.origin-cluster/x', 'must have a host after the scheme'],
    ['http:/s1.origin-cluster/x', 'must have a host after the scheme'],
    ['1http://s1.origin-cluster/x', 'must be an absolute http or https URL'],
    ['http://user:pass@s1.origin-cluster/x', 'user-info (user@host) is not allowed'],
    ['http://s1.origin-cluster@evil.example/x', 'user-info (user@host) is not allowed'],
    ['http://evil.example\\.origin-cluster/x', 'host contains a backslash'],
    ['http:///x', 'host is empty'],
    ['http://:80/x', 'host is empty'],
    ['http://s1.origin-cluster.evil.example/x', 'host "s1.origin-cluster.evil.example" is not an allowed origin'],
    ['http://origin-cluster/x', 'is not an allowed origin'],
    ['http://evil-origin-cluster/x', 'is not an allowed origin'],
    ['http://s1.origin-cluster./x', 'host must not end with a dot'],
    ['http://s1..origin-cluster/x', 'host has an empty label'],
    ['http://.origin-cluster/x', 'host has an empty label'],
    ['http://-s1.origin-cluster/x', 'starts or ends with a hyphen'],
    ['http://s1_a.origin-cluster/x', 'host contains an invalid character "_"'],
    ['http://s1%2eevil.example/x', 'host contains an invalid character "%"'],
    ['http://s1.origin-cluster%0d%0a/x', 'host contains an invalid character "%"'],
    ['http://127.0.0.1/x', 'IP-address hosts are not allowed'],
    ['http://[::1]/x', 'IP-literal hosts are not allowed'],
    ['http://[::1]:8080/x', 'IP-literal hosts are not allowed'],
    [`http://${'a'.repeat(64)}.origin-cluster/x`, 'label longer than 63'],
    [`http://${'a.'.repeat(130)}origin-cluster/x`, 'host is longer than 253'],
    ['http://s1.origin-cluster:0/x', 'port must be a number from 1 to 65535'],
    ['http://s1.origin-cluster:65536/x', 'port must be a number from 1 to 65535'],
    ['http://s1.origin-cluster:99999999999/x', 'port must be a number from 1 to 65535'],
    ['http://s1.origin-cluster:/x', 'port must be a number from 1 to 65535'],
    ['http://s1.origin-cluster:8a/x', 'port must be a number from 1 to 65535'],
    ['http://s1.origin-cluster', 'path is missing'],
    ['http://s1.origin-cluster?x=1', 'path is missing'],
    ['http://s1.origin-cluster#frag', 'path is missing'],
    ['http://s1.origin-cluster/', 'path is empty'],
    ['http://s1.origin-cluster/?x=1', 'path is empty'],
    ['http://s1.origin-cluster/a b', 'contains a space at index 26'],
    ['http://s1.origin-cluster/a\r\nLocation: x', 'contains the control character 0x0D at index 26'],
    ['http://s1.origin-cluster\n/x', 'contains the control character 0x0A at index 24'],
    ['http://s1.origin-cluster/\u0000', 'contains the control character 0x00'],
    ['http://s1.origin-cluster/\t', 'contains the control character 0x09'],
    ['http://s1.origin-cluster/\u007f', 'contains the control character 0x7F'],
    ['http://s1.origin-cluster/vidéo', 'contains a non-ASCII character at index 28'],
    ['http://ѕ1.origin-cluster/x', 'contains a non-ASCII character at index 7'],
    [long, `the limit is ${MAX_VIDEO_URL_LENGTH}`],
  ];
  for (const [video, fragment] of rows) {
    t.throws(() => parse(video), InvalidVideoError, `${JSON.stringify(video.slice(0, 60))} is refused`);
    try {
      parse(video);
    } catch (error) {
      t.match((error as Error).message, fragment, `message for ${JSON.stringify(video.slice(0, 60))}`);
      t.ok((error as Error).message.startsWith('video: '), 'message names the field');
    }
  }
});

t.test('accepts a URL of exactly the maximum length', async (t) => {
  const prefix = 'http://s1.origin-cluster/';
  const video = prefix + 'a'.repeat(MAX_VIDEO_URL_LENGTH - prefix.length);
  t.equal(parse(video).serverName, 's1');
});

t.test('the allow-list decides which hosts are origins', async (t) => {
  const exact = new OriginAllowList(['origin.example.com', '*.cdn-origin.net']);
  t.equal(parse('http://origin.example.com/x', exact).serverName, 'origin');
  t.equal(parse('http://ORIGIN.Example.COM/x', exact).serverName, 'ORIGIN');
  t.equal(parse('http://a.b.cdn-origin.net/x', exact).serverName, 'a');
  t.throws(() => parse('http://x.origin.example.com/x', exact), /not an allowed origin/);
  t.throws(() => parse('http://cdn-origin.net/x', exact), /not an allowed origin/);
  const any = new OriginAllowList(['*']);
  t.equal(parse('http://anything.example/x', any).serverName, 'anything');
  t.throws(() => parse('http://10.0.0.1/x', any), /IP-address hosts are not allowed/, 'IPs stay refused with *');
});
