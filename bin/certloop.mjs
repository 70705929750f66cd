#!/usr/bin/env node
// The `certloop` command. The installed package runs the compiled CLI (dist/cli, built by
// `npm run build` before packing) and needs no tsx. A checkout has the TypeScript sources
// and runs them through tsx (a dev dependency), so an old build never hides a change.
import { existsSync } from 'node:fs';

const source = new URL('../cli/certloop.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/certloop.js');
}
