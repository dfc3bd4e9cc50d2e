// The typed handle a generated module returns: global variables set before load (a skeleton's
// rodata/data/bss), then typed maps and programs on whichever backend loaded the object.

import type { MapSpec, ObjectSpec } from '../elf/object-spec.js';
import type { BpfMap } from '../maps/bpf-map.js';
import { codecs, typed, type Codec } from '../maps/codec.js';
import { BpfkitError } from '../errors.js';
import { layoutCodec, readLayout, writeLayout, type LayoutValue } from './codec.js';
import { FrozenGlobalError, HandleStateError, SchemaMismatchError } from './errors.js';
import type { GenMapSchema, GenSchema, GenSectionSchema } from './schema.js';

/** An object instantiated by a backend: its maps (raw bytes) and programs by name. */
export interface LoadedBackend {
  /** The backend's own object (`UserspaceObject`, `KernelObject`). */
  readonly object: unknown;
  /** The map `name` through the BpfMap API. */
  map(name: string): BpfMap;
  /** The program `name` (`UserspaceProgram`, `KernelProgram`). */
  program(name: string): unknown;
  /** Releases everything the backend created. */
  close(): void;
}

/** A way to instantiate an ObjectSpec: the userspace runtime or the kernel (see the generated `open`). */
export interface GenBackend {
  /** `'user'` or `'kernel'`. */
  readonly name: string;
  /** Instantiates `spec` (global data already in its maps' `data`) with the backend's own options. */
  load(spec: ObjectSpec, options: unknown): LoadedBackend;
}

const KEY0 = new Uint8Array(4);

/**
 * The typed handle of a generated module (`open(bytes, { backend })`): its section properties
 * (`rodata`, `data`, `bss`...) are added per object. Before `load()`, variables read and write
 * the object's initial data; after it, `.data`/`.bss` variables read and write the live map and
 * `.rodata` ones throw FrozenGlobalError on write. `maps` and `programs` work after `load()`.
 */
export class GenObject<M, P, O = unknown, Opts = unknown> implements Disposable {
  /** The object's blueprint as parsed (without the variables set since). */
  readonly spec: ObjectSpec;
  /** The schema the bindings were generated with. */
  readonly schema: GenSchema;
  readonly #backend: GenBackend;
  readonly #sections = new Map<string, { schema: GenSectionSchema; bytes: Uint8Array }>();
  #loaded: LoadedBackend | undefined;
  #closed = false;
  #maps: M | undefined;
  #programs: P | undefined;

  /** @internal use the generated `open()` (or {@link openGenerated}). */
  constructor(schema: GenSchema, spec: ObjectSpec, backend: GenBackend) {
    this.schema = schema;
    this.spec = spec;
    this.#backend = backend;
    checkSchema(schema, spec);
    for (const s of schema.sections) {
      const m = spec.maps.find((x) => x.name === s.section)!;
      const bytes = new Uint8Array(s.size);
      if (m.data) bytes.set(m.data.subarray(0, s.size));
      this.#sections.set(s.property, { schema: s, bytes });
      Object.defineProperty(this, s.property, { value: this.#sectionObject(s, bytes), enumerable: true });
    }
  }

  /** The backend's name: `'user'` or `'kernel'`. */
  get backend(): string {
    return this.#backend.name;
  }

  /** True between `load()` and `close()`. */
  get loaded(): boolean {
    return this.#loaded !== undefined && !this.#closed;
  }

  /**
   * Instantiates the object on the backend with the global variables as set so far
   * (`.rodata` frozen from now on). `options` are the backend's (`cpus` for userspace, `pinPath`
   * for the kernel...). Returns this handle.
   */
  load(options?: Opts): this {
    this.#check('load() the object');
    if (this.#loaded) throw new HandleStateError('loaded', 'load() was already called');
    const maps: MapSpec[] = this.spec.maps.map((m) => {
      const s = [...this.#sections.values()].find((x) => x.schema.section === m.name);
      return s ? { ...m, data: s.bytes.slice() } : m;
    });
    this.#loaded = this.#backend.load({ ...this.spec, maps }, options);
    return this;
  }

  /** The backend's object (`UserspaceObject` or `KernelObject`), after load. */
  get object(): O {
    return this.#live('object').object as O;
  }

  /** Typed maps by name, after load: keys and values as the generated interfaces say. */
  get maps(): M {
    const live = this.#live('maps');
    if (!this.#maps) {
      const maps: Record<string, BpfMap<unknown, unknown>> = {};
      for (const m of this.schema.maps) {
        const raw = live.map(m.name);
        Object.defineProperty(maps, m.name, { value: typed(raw, codecFor(m, 'key', this.schema.littleEndian), codecFor(m, 'value', this.schema.littleEndian)), enumerable: true });
      }
      this.#maps = Object.freeze(maps) as M;
    }
    return this.#maps;
  }

  /** The maps as raw bytes (the BpfMap API without codecs), after load. */
  rawMap(name: string): BpfMap {
    return this.#live('maps').map(name);
  }

  /** Programs by name, after load (`UserspaceProgram` or `KernelProgram`). */
  get programs(): P {
    const live = this.#live('programs');
    if (!this.#programs) {
      const programs: Record<string, unknown> = {};
      for (const name of this.schema.programs) Object.defineProperty(programs, name, { get: () => live.program(name), enumerable: true });
      this.#programs = Object.freeze(programs) as P;
    }
    return this.#programs;
  }

  /** Releases what the backend created (kernel fds; pins stay). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#loaded?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #check(what: string): void {
    if (this.#closed) throw new HandleStateError('closed', `cannot ${what}`);
  }

  #live(what: string): LoadedBackend {
    this.#check(`use ${what}`);
    if (!this.#loaded) throw new HandleStateError('not loaded', `${what} exist only after load()`);
    return this.#loaded;
  }

  #sectionObject(s: GenSectionSchema, bytes: Uint8Array): object {
    const le = this.schema.littleEndian;
    const o = {};
    for (const v of s.vars) {
      Object.defineProperty(o, v.name, {
        enumerable: true,
        get: (): LayoutValue => {
          this.#check(`read ${s.section} variable "${v.name}"`);
          return readLayout(v.layout, this.#loaded ? this.#liveSection(s) : bytes, v.offset, le);
        },
        set: (value: unknown) => {
          this.#check(`write ${s.section} variable "${v.name}"`);
          try {
            if (!this.#loaded) {
              writeLayout(v.layout, bytes, v.offset, value, le, v.name);
              return;
            }
            if (s.readOnly) throw new FrozenGlobalError(s.section, v.name);
            const live = this.#liveSection(s);
            writeLayout(v.layout, live, v.offset, value, le, v.name);
            this.#loaded.map(s.section).set(KEY0, live);
          } catch (err) {
            throw err instanceof BpfkitError && !(err instanceof FrozenGlobalError) ? err.withContext(s.section) : err;
          }
        },
      });
    }
    return Object.seal(o);
  }

  #liveSection(s: GenSectionSchema): Uint8Array {
    const b = this.#loaded!.map(s.section).get(KEY0);
    if (!b) throw new HandleStateError('loaded', `${s.section} has no value`);
    return b.slice(0, s.size);
  }
}

function codecFor(m: GenMapSchema, which: 'key' | 'value', le: boolean): Codec<unknown> {
  const layout = m[which];
  return layout ? layoutCodec(layout, le) : codecs.bytes(which === 'key' ? m.keySize : m.valueSize);
}

/** Throws SchemaMismatchError when `spec` lacks a map, section or program the schema names, or sizes differ. */
function checkSchema(schema: GenSchema, spec: ObjectSpec): void {
  const mismatch = (detail: string) => new SchemaMismatchError(schema.object, detail);
  if ((spec.byteOrder === 'le') !== schema.littleEndian) throw mismatch(`the object is ${spec.byteOrder === 'le' ? 'little' : 'big'}-endian`);
  for (const m of schema.maps) {
    const s = spec.maps.find((x) => x.name === m.name);
    if (!s) throw mismatch(`it has no map "${m.name}"`);
    if (s.type !== m.type || s.keySize !== m.keySize || s.valueSize !== m.valueSize) {
      throw mismatch(`map "${m.name}" is type ${s.type} key ${s.keySize} value ${s.valueSize}, generated for type ${m.type} key ${m.keySize} value ${m.valueSize}`);
    }
  }
  for (const sec of schema.sections) {
    const s = spec.maps.find((x) => x.name === sec.section);
    if (!s) throw mismatch(`it has no section ${sec.section}`);
    if (s.valueSize !== sec.size) throw mismatch(`${sec.section} is ${s.valueSize} bytes, generated for ${sec.size}`);
  }
  for (const p of schema.programs) if (!spec.programs.some((x) => x.name === p)) throw mismatch(`it has no program "${p}"`);
}

/**
 * Opens `spec` with the bindings `schema` on `backend`: what a generated `open()` calls. The
 * result's section properties and map/program types come from the generated module.
 */
export function openGenerated<M, P, O, Opts>(schema: GenSchema, spec: ObjectSpec, backend: GenBackend): GenObject<M, P, O, Opts> {
  return new GenObject<M, P, O, Opts>(schema, spec, backend);
}
