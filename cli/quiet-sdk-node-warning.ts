/**
 * Imported first by cli/certloop.ts. On Node 20 every AWS SDK v3 client prints a
 * multi-line NodeVersionSupportWarning (the SDK will require Node 22 for releases after
 * January 2027) on the first client it builds: noise in a command whose output people and
 * scripts read. This silences exactly that warning, through the SDK's own switch (checked
 * in @aws-sdk/core's emitWarningIfUnsupportedVersion); every other warning stays. A
 * value the user set is kept. certloop's plan for Node 20 is in the README.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
