import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decodeCanonical, encode, expectJson, toHex as hex } from '@vigil/common'
import { copyValue, encodeValue } from '../src/execution/value-codec.js'

/** Key order too: a contract can observe it (Object.keys), so a decoded form must match decoding exactly. */
function sameShape(a: unknown, b: unknown): void {
  assert.deepStrictEqual(a, b)
  assert.equal(JSON.stringify(a), JSON.stringify(b))
  if (a !== null && typeof a === 'object') {
    assert.deepEqual(Object.keys(a), Object.keys(b as object))
    for (const k of Object.keys(a)) sameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  }
}

const number = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -24, -25, -256, -257, -(2 ** 32), -(2 ** 32) - 1, 2 ** 53, -(2 ** 53), 1e300, 0.5, 1.5, 65504, 65505, 1e-7),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
)
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('', 'a'.repeat(24), 'é', '\u{1F600}', '\uD800', 'a\uDC00b'))
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), number, text, fc.array(tie('value'), { maxLength: 30 }), tie('object')),
  object: fc.dictionary(text, tie('value'), { maxKeys: 30, noNullPrototype: true }).filter((o) => !Object.hasOwn(o, '__proto__')),
})).value

describe('execution: state value codec', () => {
  it('encodes JSON values byte-identically to cborg and gives their decoded form', () => {
    fc.assert(
      fc.property(json, (v) => {
        try {
          expectJson(v, 'v')
        } catch (err) {
          // Refused only for an object key that is not well-formed Unicode (it could not come back unchanged).
          assert.match((err as Error).message, /key .* is not well-formed Unicode/)
          return
        }
        const { bytes, decoded } = encodeValue(v)
        assert.equal(hex(bytes), hex(encode(v)))
        const back = decodeCanonical(bytes, 1 << 24, 'v')
        if (decoded !== undefined) sameShape(decoded, back)
        sameShape(copyValue(back), back)
      }),
      { numRuns: 3000 },
    )
  })

  it('refuses object keys that are not well-formed Unicode: two of them could encode to the same UTF-8', () => {
    // Found by the property above: "\uFFFD" and a lone "\uD800" are both EF BF BD in UTF-8.
    assert.throws(() => expectJson({ '': { '\uFFFD': false, '\uD800': null } }, 'v'), /v: key "\\ud800" is not well-formed Unicode/)
  })

  it('gives no decoded form for a string that would not come back unchanged', () => {
    const { bytes, decoded } = encodeValue({ a: ['x', 'lone \uD800'] })
    assert.equal(decoded, undefined)
    assert.equal(hex(bytes), hex(encode({ a: ['x', 'lone \uD800'] })))
  })

  it('keeps no reference to the value it encoded, and grows past its buffer', () => {
    const v = { list: [1, 2], big: 'x'.repeat(200_000) }
    const { bytes, decoded } = encodeValue(v)
    v.list.push(3)
    assert.deepEqual(decoded, { list: [1, 2], big: 'x'.repeat(200_000) })
    assert.equal(hex(bytes), hex(encode({ list: [1, 2], big: 'x'.repeat(200_000) })))
  })
})
