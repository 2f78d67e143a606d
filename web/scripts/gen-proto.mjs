// Generates TypeScript types of the API's JSON messages from proto/ (protoc-gen-es with
// json_types: every message gets a `<Name>Json` type, protobuf's JSON mapping exactly as the
// controller writes it). Output: src/gen/ (not committed; `npm run build` and `npm test` run this).
import {execFileSync} from 'node:child_process';
import {mkdirSync, readdirSync, rmSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const proto = join(web, '..', 'proto');
const out = join(web, 'src', 'gen');
const files = [];
for (const dir of ['l4d2/controller/v1', 'l4d2/agent/v1']) {
  for (const name of readdirSync(join(proto, dir))) {
    if (name.endsWith('.proto')) files.push(join(dir, name));
  }
}
rmSync(out, {recursive: true, force: true});
mkdirSync(out, {recursive: true});
execFileSync('protoc', [
  `--plugin=protoc-gen-es=${join(web, 'node_modules', '.bin', 'protoc-gen-es')}`,
  `--es_out=${out}`, '--es_opt=target=ts,json_types=true,import_extension=none',
  `-I${proto}`, '-I/usr/include', ...files,
], {stdio: 'inherit'});
