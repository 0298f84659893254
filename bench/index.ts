// npm run bench: every performance figure beside its reference, as a ratio, with the target it must meet.
import { benchApply } from './apply.js';
import { benchGenerate } from './generate.js';
import { benchLint } from './lint.js';
import { benchValidate } from './validate.js';

const only = process.argv[2];
const results = [];
if (!only || only === 'generate') results.push(...(await benchGenerate()));
if (!only || only === 'lint') results.push(...(await benchLint()));
if (!only || only === 'validate') results.push(...(await benchValidate()));
if (!only || only === 'apply') {
  if (process.getuid?.() === 0) results.push(...(await benchApply()));
  else console.log('apply: skipped, it needs root (network namespaces)');
}
console.log('\nratios:');
for (const r of results) console.log(`  ${r.name.padEnd(36)} ${r.value.toFixed(2).padStart(6)}  target ${r.target.padEnd(10)} ${r.ok ? 'met' : 'NOT MET'}`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
