// Generates docs/agent.schema.json, the agent config's published JSON Schema, from src/agent/schema.ts.
//
// Usage: node --import tsx scripts/gen-agent-schema.ts [--check]
//   --check   exit 1 when the committed docs/agent.schema.json differs from the code's schema.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_CONFIG_SCHEMA } from '../src/agent/schema.js';
import { runGenerator } from './generator.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'agent.schema.json');

/** The schema file's text. */
export function render(): string {
  return `${JSON.stringify(AGENT_CONFIG_SCHEMA, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runGenerator('gen-agent-schema', OUT, () => render());
}
