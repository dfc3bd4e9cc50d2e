// The userspace backend of generated handles (the kernel one is imported lazily by the generated module itself).

import { loadUserspace, type LoadUserspaceOptions } from '../runtime/userspace-object.js';
import type { GenBackend } from './handle.js';

/** Instantiates a generated handle's object in the userspace runtime (`loadUserspace`). */
export function userspaceBackend(): GenBackend {
  return {
    name: 'user',
    load(spec, options) {
      const obj = loadUserspace(spec, (options ?? {}) as LoadUserspaceOptions);
      return { object: obj, map: (n) => obj.bpfMap(n), program: (n) => obj.program(n), close: () => obj[Symbol.dispose]() };
    },
  };
}
