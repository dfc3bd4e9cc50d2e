// `--model FILE` for bpfkit run and test-run: the kernel state (FIB, sockets, tunnel metadata, current task) a userspace run answers from.

import type { CommandArgs, OptionSpec } from './args.js';
import { FileReadError, readInput } from './load-file.js';
import { parseKernelModel, type KernelModel } from '../ctx/kernel-model.js';
import { BpfkitError } from '../errors.js';

/** `--model FILE`: a JSON file with "fib", "sockets", "tunnel" and/or "task" (src/ctx/kernel-model.ts). */
export const MODEL_OPTION: OptionSpec = {
  model: { type: 'string' },
};

/** Usage fragment of {@link MODEL_OPTION}. */
export const MODEL_USAGE = '[--model FILE]';

/**
 * The model `--model FILE` names, as loadUserspace options (`{ fib, sockets, tunnel, task }`), or `{}`
 * without the option. A file that is not JSON is a FileReadError; a model the kernel could not
 * hold is a ModelError with the path as context.
 */
export function readModelOption(args: CommandArgs): KernelModel {
  const path = args.value('model');
  if (path === undefined) return {};
  const text = new TextDecoder().decode(readInput(path));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FileReadError(path, `not JSON: ${(e as Error).message}`, { cause: e });
  }
  try {
    return parseKernelModel(json);
  } catch (e) {
    throw e instanceof BpfkitError ? e.withContext(path) : e;
  }
}
