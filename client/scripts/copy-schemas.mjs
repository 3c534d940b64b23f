// Copies the repository's JSON Schemas (../schemas) into the extension (schemas/, ignored by git).
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const client = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(client, '..', 'schemas');
const target = join(client, 'schemas');
if (!existsSync(source)) {
  throw new Error(`no schemas at ${source}`);
}
mkdirSync(target, { recursive: true });
for (const name of readdirSync(source)) {
  if (name.endsWith('.schema.json')) {
    cpSync(join(source, name), join(target, name));
  }
}
