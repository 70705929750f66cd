/** Minimal types for dynalite (CommonJS, ships none): the options certloop uses. */
declare module 'dynalite' {
  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    verbose?: boolean;
    debug?: boolean;
    ssl?: boolean;
  }

  function dynalite(options?: DynaliteOptions): import('node:http').Server;

  export = dynalite;
}
