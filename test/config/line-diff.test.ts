// The unified diff `config synapse-after` prints: the same hunks `diff -u` makes (expected outputs
// below were made with GNU diff 3.8), hidden lines, and a missing final line break.
import { describe, expect, it } from 'vitest';
import { diffLines, unifiedDiff } from '../../src/config/line-diff.js';

const lines = (text: string) => text.split('\n').slice(0, -1);

describe('diffLines', () => {
  it('finds the shortest edit', () => {
    const ops = diffLines(['a', 'b', 'c', 'a', 'b', 'b', 'a'], ['c', 'b', 'a', 'b', 'a', 'c']);
    expect(ops.filter((o) => o.op !== ' ')).toHaveLength(5);
    expect(diffLines([], ['x']).map((o) => o.op)).toEqual(['+']);
    expect(diffLines(['x'], []).map((o) => o.op)).toEqual(['-']);
  });
});

describe('unifiedDiff', () => {
  const old = lines('server_name: example.com\nreport_stats: false\n\n# registration\nenable_registration: true\nregistration_shared_secret: s3cr3t\n\nmedia_store_path: /data/media\nsigning_key_path: /data/key\nlog_config: /data/log.yaml\nmax_upload_size: 50M\nurl_preview_enabled: false\npublic_baseurl: https://matrix.example.com/\noidc_providers:\n  - idp_id: google\n    client_secret: abc\n');

  it('writes hunks with three lines of context, merged when they are close, as diff -u', () => {
    const next = [...old.slice(0, 4), ...old.slice(6, 13), 'matrix_authentication_service:', '  enabled: true'];
    expect(unifiedDiff({ oldName: 'a.yaml', newName: 'a.yaml', oldLines: old, newLines: next })).toBe(
      [
        '--- a.yaml',
        '+++ a.yaml',
        '@@ -2,8 +2,6 @@',
        ' report_stats: false',
        ' ',
        ' # registration',
        '-enable_registration: true',
        '-registration_shared_secret: s3cr3t',
        ' ',
        ' media_store_path: /data/media',
        ' signing_key_path: /data/key',
        '@@ -11,6 +9,5 @@',
        ' max_upload_size: 50M',
        ' url_preview_enabled: false',
        ' public_baseurl: https://matrix.example.com/',
        '-oidc_providers:',
        '-  - idp_id: google',
        '-    client_secret: abc',
        '+matrix_authentication_service:',
        '+  enabled: true',
        '',
      ].join('\n'),
    );
  });

  it('shows hidden lines through show(), and a new file from /dev/null', () => {
    const diff = unifiedDiff({ oldName: 'a.yaml', newName: 'a.yaml', oldLines: old, newLines: old.slice(0, 13), hide: new Set([5, 15]), show: () => '[hidden]' });
    expect(diff).toContain('-[hidden]');
    expect(diff).not.toContain('abc');
    expect(unifiedDiff({ oldName: '/dev/null', newName: 'conf.d/mas.yaml', oldLines: [], newLines: ['a: 1', 'b: 2'] })).toBe('--- /dev/null\n+++ conf.d/mas.yaml\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n');
  });

  it('marks a last line without a line break, as diff -u does', () => {
    expect(unifiedDiff({ oldName: 'f', newName: 'f', oldLines: ['a', 'b'], newLines: ['a', 'b', 'c'], oldEndsWithNewline: false })).toBe(
      '--- f\n+++ f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n',
    );
    expect(unifiedDiff({ oldName: 'f', newName: 'f', oldLines: ['a'], newLines: ['a'] })).toBe('');
  });
});
