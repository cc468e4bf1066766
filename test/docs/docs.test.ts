import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import t from 'tap';
import { CONFIG_VARIABLES } from '../../src/config/config.js';
import { PROJECT_ROOT } from '../helpers/service-process.js';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const DOCS = ['README.md', 'CHANGELOG.md', ...readdirSync(join(PROJECT_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's heading anchors: lower case, punctuation dropped (but - and _), spaces as -. */
const anchorOf = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replaceAll(' ', '-');

t.test('the README is a front door: at most 220 lines, with the two commands', async (t) => {
  const readme = read('README.md');
  t.ok(readme.split('\n').length <= 220, `${readme.split('\n').length} lines`);
  t.match(readme, /npm install && npm start/);
  t.match(readme, /npm test/);
});

t.test('every variable the service reads is documented in docs/configuration.md', async (t) => {
  const configuration = read('docs/configuration.md');
  for (const name of CONFIG_VARIABLES) t.match(configuration, `\`${name}\``, name);
});

t.test('every relative link of the README, the CHANGELOG and docs/ resolves, anchors included', async (t) => {
  const anchors = new Map(DOCS.map((doc) => [doc, new Set([...read(doc).matchAll(/^#+ (.*)$/gm)].map((m) => anchorOf(m[1] as string)))]));
  for (const doc of DOCS) {
    const text = read(doc).replace(/```[\s\S]*?```/g, '');
    for (const [, link] of text.matchAll(/\]\(([^)]+)\)/g)) {
      if (/^[a-z]+:\/\//.test(link as string)) continue;
      const [path, anchor] = (link as string).split('#') as [string, string | undefined];
      const target = path === '' ? doc : normalize(join(dirname(doc), path));
      t.ok(existsSync(join(PROJECT_ROOT, target)), `${doc}: ${link}`);
      if (anchor && target.endsWith('.md')) t.ok(anchors.get(target)?.has(anchor), `${doc}: ${link} (anchor)`);
    }
  }
});
