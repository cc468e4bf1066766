/** The oldest Node.js the service runs on: OpenTelemetry's current lines need 22.15. */
export const MINIMUM_NODE_VERSION = '22.15.0';

/** Why `version` (like `process.version`, `v24.21.0`) cannot run the service, or undefined when it can. */
export function unsupportedNodeReason(version: string): string | undefined {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const [minMajor = 0, minMinor = 0] = MINIMUM_NODE_VERSION.split('.').map(Number);
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return (
    `Node.js ${version} is not supported: ${MINIMUM_NODE_VERSION} or newer is needed. ` +
    '`npm start` and `npx pm2` use the Node.js 24 that `npm install` puts in node_modules/.bin'
  );
}
