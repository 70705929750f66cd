/**
 * Gives `zod/mini` zod's English messages. Import it for its effect next to
 * `import * as z from 'zod/mini'` in every module that declares a schema.
 *
 * The classic `zod` API weighs about 92 KB in a minified bundle; `zod/mini` is the same
 * engine with a functional API that tree-shakes. Mini loads no messages by default
 * (every issue would read "Invalid input"), hence this module. Import `z` from
 * 'zod/mini' itself, as a namespace, and never re-export it: a namespace object that
 * escapes as a value keeps all of zod, its 40 locales included, in the bundle.
 * Measure with `npx cdk synth -q && npx tsx infra/bundle-sizes.ts --analyze`.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
