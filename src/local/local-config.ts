import { readFile } from 'node:fs/promises';
import * as z from 'zod';

const certificateSchema = z.object({
  /** Becomes the record id and the folder under <state>/secrets/certs/. */
  name: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9._-]{0,62}$/,
      'use lower-case letters, digits, ".", "_" or "-" (at most 63)',
    ),
  domains: z.array(z.string()).default([]),
  wildcards: z.array(z.string()).default([]),
  key: z.string().optional(),
  profile: z.string().optional(),
  issuer: z.string().optional(),
});

const localConfigSchema = z.object({
  allowedSuffixes: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+\.?$/, 'must be a DNS suffix with at least two labels'),
    )
    .min(1, 'list at least one suffix'),
  tickIntervalSeconds: z.number().int().min(1).max(86_400).default(30),
  /** An ACME directory to use instead of the embedded pebble. */
  acme: z
    .object({
      directoryUrl: z.url(),
      contactEmail: z.email().optional(),
      trustedCaFile: z.string().optional(),
      /**
       * External Account Binding for a CA that requires it: the key id the CA gave and a
       * file holding just the HMAC key (base64url), read when the account is created.
       */
      eab: z
        .strictObject({
          keyId: z.string().min(1, 'the EAB key id the CA gave must not be empty'),
          hmacKeyFile: z.string().min(1, 'a file holding the HMAC key (base64url)'),
        })
        .optional(),
    })
    .optional(),
  /** The pebble-challtestsrv that answers DNS-01 for `acme` (local mode has no other DNS). */
  dns: z
    .object({ challtestsrvUrl: z.url(), challtestsrvDns: z.string().regex(/^[^\s:]+:\d+$/) })
    .optional(),
  certificates: z.array(certificateSchema).min(1, 'list at least one certificate'),
  /** Session-ticket-key sets to rotate; rings go to <state>/secrets/stek/<set>.json. */
  stekSets: z
    .array(
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'use lower-case letters, digits, ".", "_" or "-"'),
    )
    .default([]),
});

export type LocalConfig = z.infer<typeof localConfigSchema>;

/** Reads the local-mode config file; errors name the file and the field. */
export async function readLocalConfig(path: string): Promise<LocalConfig> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = localConfigSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`${path} is not a valid certloop local config:\n  ${problems.join('\n  ')}`);
  }
  const config = parsed.data;
  if (config.acme && !config.dns) {
    throw new Error(
      `${path}: acme.directoryUrl is set but dns is not; local mode answers DNS-01 only through pebble-challtestsrv (set dns.challtestsrvUrl and dns.challtestsrvDns), or remove acme to use the embedded pebble`,
    );
  }
  const names = new Set<string>();
  for (const certificate of config.certificates) {
    if (names.has(certificate.name))
      throw new Error(`${path}: certificate name "${certificate.name}" appears twice`);
    names.add(certificate.name);
  }
  return config;
}
