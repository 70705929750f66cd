import './quiet-sdk-node-warning.js';
import { Command, InvalidArgumentError } from 'commander';
import { runLocal } from '../src/local/runner.js';
import { registerCertCommand } from './cert-command.js';
import { exampleLocalConfig } from './example-config.js';
import { registerOperationsCommands } from './operations-commands.js';
import { renderStatusTable } from './status-table.js';
import { registerStekCommand } from './stek-command.js';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

const program = new Command('certloop')
  .description('TLS certificate and session-ticket-key rotation; see README.md')
  .showHelpAfterError();

program
  .command('local')
  .description(
    'run the renewal engine on this machine: dynalite + a local pebble CA, no AWS account',
  )
  .option(
    '-c, --config <file>',
    'certificates to manage (default: the example shipped with certloop, examples/certloop.local.json)',
  )
  .option('-s, --state-dir <dir>', 'where records, certificates and pebble state live', '.certloop')
  .option('--once', 'run one tick, print the status and exit')
  .option('--ticks <n>', 'stop after this many ticks', positiveInteger)
  .action(
    async (options: { config?: string; stateDir: string; once?: boolean; ticks?: number }) => {
      const configPath = options.config ?? exampleLocalConfig();
      if (configPath === undefined) {
        program.error(
          'certloop local: no --config given and the example config is missing from the package',
        );
        return;
      }
      const controller = new AbortController();
      let interrupts = 0;
      const stop = () => {
        interrupts += 1;
        if (interrupts > 1) process.exit(130);
        process.stderr.write(
          '\nstopping: finishing the current tick, then stopping pebble and dynalite (Ctrl-C again to force)\n',
        );
        controller.abort();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      let ticks = 0;
      await runLocal({
        configPath,
        stateDir: options.stateDir,
        once: options.once ?? false,
        signal: controller.signal,
        onTick: (report, records) => {
          process.stdout.write(
            `\ntick at ${report.startedAt}: ${report.due} due, ${report.counts.issued} issued, ${report.counts.failed} failed, ${report.counts.invalid} invalid\n`,
          );
          process.stdout.write(`${renderStatusTable(records, Date.now())}\n`);
          process.stdout.write(
            `certificates: ${options.stateDir}/secrets/certs/<name>/current/{fullchain.pem,privkey.pem}\n`,
          );
          ticks += 1;
          if (options.ticks !== undefined && ticks >= options.ticks) controller.abort();
        },
      });
    },
  );

registerOperationsCommands(program);
registerStekCommand(program);
registerCertCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`certloop: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
