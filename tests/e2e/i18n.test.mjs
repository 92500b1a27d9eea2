// The two dictionaries have the same keys and no empty strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dictionaries } from '../../web/src/js/i18n.js';

test('en and ko dictionaries have the same keys', () => {
  const en = Object.keys(dictionaries.en).sort();
  const ko = Object.keys(dictionaries.ko).sort();
  assert.deepEqual(ko.filter((k) => !en.includes(k)), [], 'only in ko');
  assert.deepEqual(en.filter((k) => !ko.includes(k)), [], 'only in en');
  for (const [l, d] of Object.entries(dictionaries)) {
    for (const [k, v] of Object.entries(d)) assert.ok(typeof v === 'string' && v.length > 0, `${l}.${k}`);
  }
});
