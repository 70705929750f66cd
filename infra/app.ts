import { App, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { CertLoopStack } from './certloop-stack.js';
import { certLoopPropsFromContext } from './context.js';

// The certloop CDK app (cdk.json: "npx tsx infra/app.ts"). Configured by context keys
// (see infra/context.ts); the AwsSolutions checks run at every synth and fail it on any
// finding that is neither fixed nor acknowledged with a reason.
const app = new App();
new CertLoopStack(app, 'CertLoop', { certloop: certLoopPropsFromContext(app.node) });
Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app));
app.synth();
