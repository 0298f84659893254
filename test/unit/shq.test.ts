import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shq } from '../../src/render/shq.js';

describe('shq quotes like shlex.quote', () => {
  it.each([
    ['ens160', 'ens160'],
    ['192.168.179.9/16', '192.168.179.9/16'],
    ['02:42:ac:11:00:02', '02:42:ac:11:00:02'],
    ['', "''"],
    ['a b', "'a b'"],
    ["it's", `'it'"'"'s'`],
    ['$(reboot)', "'$(reboot)'"],
    ['`id`', "'`id`'"],
    ['a;b', "'a;b'"],
    ['*', "'*'"],
    ['line\nbreak', "'line\nbreak'"],
    ['ünï', "'ünï'"],
  ])('%j -> %s', (input, expected) => {
    expect(shq(input)).toBe(expected);
  });

  it('quotes numbers as their decimal text', () => {
    expect(shq(1500)).toBe('1500');
  });

  it('round-trips hostile strings through bash unchanged', () => {
    const hostile = ["'; rm -rf / #", '$(touch /tmp/x)', '`id`', '"$HOME"', 'a\nb', '-rf', '!!', '\\', 'ü ☃', '*?[a]'];
    for (const value of hostile) {
      const echoed = execFileSync('bash', ['-c', `printf '%s' ${shq(value)}`], { encoding: 'utf8' });
      expect(echoed).toBe(value);
    }
  });
});
