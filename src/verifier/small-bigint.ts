// Shared BigInts of small integers: bounds computed in numbers go back to BigInts without an allocation each.

const LIMIT = 0x10000;
const cache: (bigint | undefined)[] = new Array<bigint | undefined>(LIMIT);
const negCache: (bigint | undefined)[] = new Array<bigint | undefined>(LIMIT);

/**
 * BigInt(n) for an integer n; for |n| < 2^16 one shared value (a BigInt is immutable, so sharing
 * is safe), created on first use. Bounds and tnums the verifier keeps are mostly such values.
 */
export function big(n: number): bigint {
  if (n >= 0) {
    if (n < LIMIT) {
      const c = cache[n];
      if (c !== undefined) return c;
      const b = BigInt(n);
      cache[n] = b;
      return b;
    }
  } else if (n > -LIMIT) {
    const c = negCache[-n];
    if (c !== undefined) return c;
    const b = BigInt(n);
    negCache[-n] = b;
    return b;
  }
  return BigInt(n);
}
