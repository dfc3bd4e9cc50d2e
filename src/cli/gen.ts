// `bpfkit gen types OBJ [-o FILE.ts]`: TypeScript bindings of an object from its BTF (bpf2go's and
// `bpftool gen skeleton`'s job), to stdout or written atomically to a file.

import { basename } from 'node:path';
import { objectNameFromPath } from '../elf/object-loader.js';
import { generateTypes } from '../gen/emit.js';
import { NoBtfError } from '../gen/errors.js';
import { buildSchema, varOffsets } from '../gen/schema.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { readInput, readObject } from './load-file.js';
import { writeFileAtomic } from './output-file.js';
import { type Io, json } from './output.js';

/** Usage text of `gen`. */
export const genUsage = 'bpfkit gen types OBJ [-o FILE.ts] [--import-from MODULE] [--kernel-import-from MODULE] [--json|-j]';

/** Options of `gen`. */
export const genOptions: OptionSpec = {
  output: { type: 'string', short: 'o' },
  'import-from': { type: 'string' },
  'kernel-import-from': { type: 'string' },
};

/**
 * Runs `gen types`: the module goes to stdout, or with `-o` to FILE atomically (a temporary
 * file renamed into place; never over the object itself). `--import-from` names the module the
 * bindings import bpfkit from (default `bpfkit`; the kernel backend from `<it>/kernel`, or
 * `--kernel-import-from`).
 */
export function gen(args: CommandArgs, io: Io): number {
  const sub = args.positional(0, 'subcommand (types)', genUsage);
  if (sub !== 'types') throw new UsageError(`unknown gen subcommand '${sub}' (bpfkit gen types OBJ)`, genUsage);
  const file = args.positional(1, 'OBJ', genUsage);
  args.done(genUsage);
  const output = args.value('output');
  if (output === '') throw new UsageError('-o needs a file name', genUsage);
  if (args.json && output === undefined) throw new UsageError('--json prints a summary of the written file: give -o FILE.ts', genUsage);
  const spec = readObject(file);
  if (!spec.btf) throw new NoBtfError(file);
  const bytes = readInput(file);
  const importFrom = args.value('import-from') ?? 'bpfkit';
  const kernelImportFrom = args.value('kernel-import-from') ?? `${importFrom}/kernel`;
  const options = { object: basename(file), objectName: objectNameFromPath(file), importFrom, kernelImportFrom };
  const text = generateTypes(bytes, options);
  if (output === undefined) {
    io.out(text);
    return 0;
  }
  writeFileAtomic(output, new TextEncoder().encode(text), [file]);
  if (args.json) {
    const { schema } = buildSchema(spec, options.object, options.objectName, varOffsets(bytes));
    io.out(json({ file: output, object: file, maps: schema.maps.map((m) => m.name), sections: schema.sections.map((s) => s.section), programs: schema.programs }, args.pretty));
  } else {
    io.err(`wrote ${output}: bindings of ${file}\n`);
  }
  return 0;
}
