// Starts oauth2-mock-server (a third-party authorization server from npm) on 127.0.0.1 with
// a fresh RS256 key and prints its issuer URL on one line; stops when stdin closes.
//
// usage: node oauth2_mock_server.mjs <oauth2-mock-server package dir> <client id> <client secret>
//
// The mock issues tokens to any client. Its documented per-test customisation hook
// (`beforeResponse` on the token endpoint) is used to make it require the given client
// credentials (HTTP Basic or form), so a wrong secret gets `401 invalid_client`.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkgDir, clientId, clientSecret] = process.argv.slice(2);
const { OAuth2Server } = await import(pathToFileURL(join(pkgDir, 'dist', 'index.mjs')).href);

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');

function presented(req) {
  const auth = req.headers['authorization'] ?? '';
  if (auth.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return [decodeURIComponent(decoded.slice(0, i)), decodeURIComponent(decoded.slice(i + 1))];
  }
  return [req.body?.client_id, req.body?.client_secret];
}

server.service.on('beforeResponse', (response, req) => {
  const [id, secret] = presented(req);
  if (id !== clientId || secret !== clientSecret) {
    response.statusCode = 401;
    response.body = { error: 'invalid_client', error_description: 'unknown client or wrong secret' };
  }
});

await server.start(0, '127.0.0.1');
process.stdout.write(`${server.issuer.url}\n`);
process.stdin.on('end', async () => {
  await server.stop();
  process.exit(0);
});
process.stdin.resume();
