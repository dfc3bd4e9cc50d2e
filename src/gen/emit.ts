// The emitter: an ObjectSpec's schema as a TypeScript module — interfaces, enum constants, global
// variables, program names, the embedded schema and a typed open() for both backends.

import { loadObject, objectNameFromPath } from '../elf/object-loader.js';
import type { ObjectSpec } from '../elf/object-spec.js';
import { mapTypeName } from '../isa/map-types.js';
import { isBigint, type CompositeLayout, type EnumDef, type Layout, type LayoutBuilder } from './layout.js';
import { buildSchema, varOffsets, type GenSchema } from './schema.js';

/** Options of {@link generateTypes}. */
export interface GenerateOptions {
  /** The object's file name, named in the header and in error messages (default `object.o`). */
  readonly object?: string;
  /** Object name for libbpf's internal map names (default: the file name up to its first dot, as `loadObject` names it). */
  readonly objectName?: string;
  /** Module the generated code imports the pure core from (default `'bpfkit'`). */
  readonly importFrom?: string;
  /** Module it imports the kernel backend from, lazily (default `'bpfkit/kernel'`). */
  readonly kernelImportFrom?: string;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function prop(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}


/** Declarations collected while spelling types: named interfaces, by name, in the order met. */
class TypeWriter {
  readonly decls = new Map<string, string>();

  constructor(readonly builder: LayoutBuilder) {}

  /** The TypeScript spelling of values of `l`, declaring named structs and unions on the way. */
  spell(l: Layout, indent = ''): string {
    switch (l.kind) {
      case 'int':
      case 'ptr':
        return isBigint(l) ? 'bigint' : 'number';
      case 'enum':
        return l.name ?? (isBigint(l) ? 'bigint' : 'number');
      case 'bool':
        return 'boolean';
      case 'float':
        return 'number';
      case 'string':
        return 'string';
      case 'bytes':
      case 'opaque':
        return 'Uint8Array';
      case 'array': {
        const el = this.spell(l.element, indent);
        return /^[A-Za-z0-9_]+$/.test(el) ? `${el}[]` : `Array<${el}>`;
      }
      case 'struct':
      case 'union':
        if (l.name) {
          if (!this.decls.has(l.name)) {
            this.decls.set(l.name, ''); // placeholder: keeps the order and stops recursion
            this.decls.set(l.name, this.interfaceText(l));
          }
          return l.name;
        }
        return `{ ${l.members.map((m) => `${prop(m.name)}${m.optional ? '?' : ''}: ${this.spell(m.layout, indent)}`).join('; ')} }`;
    }
  }

  private interfaceText(l: CompositeLayout): string {
    const head =
      l.kind === 'union'
        ? `/** union ${l.cName ?? l.name} (${l.size} bytes): decoding fills every member (each a view of the same bytes); encoding writes the members present, in declaration order. */`
        : `/** struct ${l.cName ?? l.name} (${l.size} bytes). */`;
    const members = l.members.map((m) => {
      const where = m.bits !== undefined ? `byte ${m.offset} + bit ${m.bitOffset ?? 0}` : `offset ${m.offset}`;
      const decl = this.builder.declarations.get(m) ?? m.name;
      return `  /** \`${decl}\`: ${where}${m.optional ? ', a union member' : ''} */\n  ${prop(m.name)}${m.optional ? '?' : ''}: ${this.spell(m.layout, '  ')};`;
    });
    return `${head}\nexport interface ${l.name} {\n${members.join('\n')}\n}`;
  }
}

function enumText(e: EnumDef): string {
  const lit = (v: number | bigint) => (typeof v === 'bigint' ? `${v}n` : String(v));
  const entries = e.values.map(([n, v]) => `  ${prop(n)}: ${lit(v)},`).join('\n');
  return `/** enum ${e.cName}: its enumerators. Values read from maps may be any ${e.big ? 'bigint' : 'number'}, not only these. */\nexport const ${e.name} = {\n${entries}\n} as const;\n/** enum ${e.cName}. */\nexport type ${e.name} = ${e.big ? 'bigint' : 'number'};`;
}

/** The schema as compact JSON, one map, section and variable a line. */
function schemaText(s: GenSchema): string {
  const list = (items: readonly unknown[], indent: string, f: (x: never) => string) => (items.length === 0 ? '[]' : `[\n${items.map((x) => `${indent}  ${f(x as never)},`).join('\n')}\n${indent}]`);
  const j = (x: unknown) => JSON.stringify(x);
  const sections = list(s.sections, '  ', (x: GenSchema['sections'][number]) => `{ "property": ${j(x.property)}, "typeName": ${j(x.typeName)}, "section": ${j(x.section)}, "readOnly": ${x.readOnly}, "size": ${x.size}, "vars": ${list(x.vars, '    ', j)} }`);
  return `{\n  "object": ${j(s.object)},\n  "objectName": ${j(s.objectName)},\n  "littleEndian": ${s.littleEndian},\n  "maps": ${list(s.maps, '  ', j)},\n  "sections": ${sections},\n  "programs": ${j(s.programs)}\n}`;
}


/**
 * Generates the TypeScript bindings of an object (see docs/gen.md) — its bytes (global
 * variables placed by their ELF symbols, as libbpf places them) or its parsed spec: one interface per named
 * struct/union, enum constants, the global variables of each data section, `Maps` (typed
 * `BpfMap`s), program names, and `open(bytes, { backend: 'user' | 'kernel' })`. The kernel
 * backend is imported only when asked for, so a browser bundle of the module never loads it.
 * Throws NoBtfError when the object has no BTF, GenTypeError for a type with no value form.
 */
export function generateTypes(input: Uint8Array | ObjectSpec, options: GenerateOptions = {}): string {
  const object = options.object ?? 'object.o';
  const objectName = options.objectName ?? objectNameFromPath(object);
  const spec = input instanceof Uint8Array ? loadObject(input, { objectName }) : input;
  const offsets = input instanceof Uint8Array ? varOffsets(input) : undefined;
  const { schema, builder } = buildSchema(spec, object, objectName, offsets);
  const core = options.importFrom ?? 'bpfkit';
  const kernel = options.kernelImportFrom ?? 'bpfkit/kernel';
  const w = new TypeWriter(builder);

  const mapLines = schema.maps.map((m) => {
    const k = m.key ? w.spell(m.key) : 'Uint8Array';
    const v = m.value ? w.spell(m.value) : 'Uint8Array';
    const raw = [m.key ? '' : `key: ${m.keySize} raw bytes`, m.value ? '' : `value: ${m.valueSize} raw bytes`].filter(Boolean).join(', ');
    return `  /** ${mapTypeName(m.type)}${raw ? ` (${raw}, no BTF type)` : ''}. */\n  readonly ${prop(m.name)}: $BpfMap<${k}, ${v}>;`;
  });

  const sectionDecls = schema.sections.map((s) => {
    const name = s.typeName;
    const vars = s.vars.map((v) => `  /** \`${v.declaration ?? v.name}\`: offset ${v.offset} */\n  ${prop(v.name)}: ${w.spell(v.layout, '  ')};`).join('\n');
    const note = s.readOnly ? 'set before load(); read-only after (FrozenGlobalError)' : 'before load() the initial value; after, the live map';
    return { s, name, text: `/** Variables of ${s.section} (${s.size} bytes): ${note}. Assign whole variables; members left out are zero. */\nexport interface ${name} {\n${vars}\n}` };
  });

  const out: string[] = [];
  out.push(`// Code generated by bpfkit gen types from ${object}; DO NOT EDIT.`);
  out.push(`// Typed bindings of ${object}: map keys and values, global variables and programs (docs/gen.md).`);
  out.push('/* eslint-disable */');
  out.push('');
  out.push(`import { loadObject as $loadObject, openGenerated as $openGenerated, userspaceBackend as $userspaceBackend } from ${JSON.stringify(core)};`);
  out.push(
    `import type { BpfMap as $BpfMap, GenBackend as $GenBackend, GenObject as $GenObject, GenSchema as $GenSchema, LoadUserspaceOptions as $LoadUserspaceOptions, UserspaceObject as $UserspaceObject, UserspaceProgram as $UserspaceProgram } from ${JSON.stringify(core)};`,
  );
  out.push(`import type { KernelObject as $KernelObject, KernelProgram as $KernelProgram, LoadObjectOptions as $LoadObjectOptions, Sys as $Sys } from ${JSON.stringify(kernel)};`);
  out.push('');
  for (const e of builder.enums.values()) out.push(enumText(e), '');
  for (const d of w.decls.values()) out.push(d, '');
  for (const d of sectionDecls) out.push(d.text, '');
  out.push(`/** The global-data sections of ${object}, as properties of the handle. */`);
  out.push(sectionDecls.length === 0 ? 'export type Globals = {};' : `export type Globals = {\n${sectionDecls.map((d) => `  readonly ${prop(d.s.property)}: ${d.name};`).join('\n')}\n};`, '');
  out.push(`/** The maps of ${object} (global data excluded: see Globals), typed. Per-CPU maps: getPerCpu(key) gives one value per CPU. */`);
  out.push(mapLines.length === 0 ? 'export type Maps = {};' : `export interface Maps {\n${mapLines.join('\n')}\n}`, '');
  out.push('/** Map names. */', 'export type MapName = keyof Maps;', '');
  out.push(`/** The programs of ${object}. */`);
  out.push(`export const PROGRAM_NAMES = [${schema.programs.map((p) => JSON.stringify(p)).join(', ')}] as const;`);
  out.push('/** Program names. */', 'export type ProgramName = (typeof PROGRAM_NAMES)[number];', '');
  out.push('/** Options of load() on the kernel backend: loadKernelObject\'s, and the Sys to use (default the real one). */');
  out.push('export type KernelLoadOptions = $LoadObjectOptions & { readonly sys?: $Sys };', '');
  out.push('/** What each backend gives: its object, program and load options types. */');
  out.push('export interface Backends {');
  out.push('  readonly user: { readonly object: $UserspaceObject; readonly program: $UserspaceProgram; readonly options: $LoadUserspaceOptions };');
  out.push('  readonly kernel: { readonly object: $KernelObject; readonly program: $KernelProgram; readonly options: KernelLoadOptions };');
  out.push('}');
  out.push("/** `'user'` (the userspace runtime: interpreter or JIT) or `'kernel'` (bpf(2)). */", 'export type Backend = keyof Backends;', '');
  out.push('/** The programs on backend B, by name. */', "export type Programs<B extends Backend> = { readonly [P in ProgramName]: Backends[B]['program'] };", '');
  out.push(`/** The typed handle of ${object} on backend B: set Globals, load(), then maps and programs. */`);
  out.push("export type Handle<B extends Backend> = $GenObject<Maps, Programs<B>, Backends[B]['object'], Backends[B]['options']> & Globals;", '');
  out.push('/** Options of open(). */', 'export interface OpenOptions<B extends Backend> {', '  /** Where load() instantiates the object. */', '  readonly backend: B;', '}', '');
  out.push(`/** What the bindings know about ${object} (checked against the bytes given to open()). */`);
  out.push(`export const schema: $GenSchema = ${schemaText(schema)};`, '');
  out.push(
    `/**\n * Opens the bytes of ${object} (parsed, checked against the schema) for \`backend\`: set global\n * variables, then \`load()\`. The kernel backend is imported only here, only when asked for.\n */`,
  );
  out.push('export async function open<B extends Backend>(bytes: Uint8Array, options: OpenOptions<B>): Promise<Handle<B>> {');
  out.push("  const backend: $GenBackend = options.backend === 'kernel' ? await kernelBackend() : $userspaceBackend();");
  out.push('  const spec = $loadObject(bytes, { objectName: schema.objectName });');
  out.push("  return $openGenerated<Maps, Programs<B>, Backends[B]['object'], Backends[B]['options']>(schema, spec, backend) as Handle<B>;");
  out.push('}', '');
  out.push('async function kernelBackend(): Promise<$GenBackend> {');
  out.push(`  const k = await import(${JSON.stringify(kernel)});`);
  out.push('  return {');
  out.push("    name: 'kernel',");
  out.push('    load(spec, options) {');
  out.push('      const opts = (options ?? {}) as KernelLoadOptions;');
  out.push('      const obj = k.loadKernelObject(opts.sys ?? k.createKernelSys(), spec, opts);');
  out.push('      return { object: obj, map: (n: string) => obj.map(n), program: (n: string) => obj.program(n), close: () => obj.close() };');
  out.push('    },');
  out.push('  };');
  out.push('}');
  return `${out.join('\n')}\n`;
}
