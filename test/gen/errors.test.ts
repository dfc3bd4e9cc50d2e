// The gen errors from one table: class, name, stable code, message and structured fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfkitError, FrozenGlobalError, GenTypeError, GenValueError, HandleStateError, NoBtfError, SchemaMismatchError } from '../../src/index.js';

const table: [BpfkitError, string, string, RegExp, Record<string, unknown>][] = [
  [new NoBtfError('x.o'), 'NoBtfError', 'ERR_GEN_NO_BTF', /^x\.o: the object has no BTF \(\.BTF section\).*compile it with clang -g$/, { object: 'x.o' }],
  [new GenTypeError(7, 'func main has no value representation'), 'GenTypeError', 'ERR_GEN_TYPE', /^BTF type 7: func main/, { typeId: 7 }],
  [new GenValueError('cfg.label', 'too long'), 'GenValueError', 'ERR_GEN_VALUE', /^cfg\.label: too long$/, { path: 'cfg.label' }],
  [new FrozenGlobalError('.rodata', 'cfg'), 'FrozenGlobalError', 'ERR_GEN_FROZEN', /^\.rodata variable "cfg" is read-only after load/, { section: '.rodata', variable: 'cfg' }],
  [new HandleStateError('not loaded', 'maps exist only after load()'), 'HandleStateError', 'ERR_GEN_STATE', /^maps exist only after load\(\) \(the object is not loaded\)$/, { state: 'not loaded' }],
  [new SchemaMismatchError('a.o', 'it has no map "stats"'), 'SchemaMismatchError', 'ERR_GEN_MISMATCH', /^bindings generated from a\.o do not fit this object: it has no map "stats" \(regenerate/, { object: 'a.o' }],
];

test('each gen error has its name, stable code, message and fields, and keeps them with context', () => {
  for (const [err, name, code, message, fields] of table) {
    assert.ok(err instanceof BpfkitError);
    assert.equal(err.name, name);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual((err as unknown as Record<string, unknown>)[k], v, `${name}.${k}`);
    const wrapped = err.withContext('outer');
    assert.equal(wrapped.code, code);
    assert.ok(wrapped.message.startsWith('outer: '));
    assert.equal(Object.getPrototypeOf(wrapped), Object.getPrototypeOf(err));
  }
});
