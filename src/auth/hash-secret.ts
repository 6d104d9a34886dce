/**
 * @module `npm run hash-secret -- <password>` prints the scrypt form of a password and
 * `npm run hash-secret -- --token <token>` the SHA-256 form of a token, for `auth.users`. Without
 * the secret argument it is read from standard input, so that it stays out of the shell history.
 */
import { hashToken } from './authenticate.ts';
import { hashSecret } from './secrets.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const args = process.argv.slice(2);
const token = args[0] === '--token';
const secret = (token ? args[1] : args[0]) ?? (await readStdin());
if (!secret) {
  process.stderr.write('hash-secret: give the secret as an argument or on standard input\n');
  process.exit(1);
}
process.stdout.write(`${token ? hashToken(secret) : hashSecret(secret)}\n`);
