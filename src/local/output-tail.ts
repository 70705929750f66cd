const TAIL_LINES = 40;

/** Keeps the last lines a child printed, for error messages. */
export class OutputTail {
  readonly #lines: string[] = [];
  #partial = '';

  push(chunk: Buffer | string): void {
    const text = this.#partial + chunk.toString();
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.#keep(line);
    if (this.#partial.length > 4_096) {
      this.#keep(this.#partial);
      this.#partial = '';
    }
  }

  #keep(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > TAIL_LINES) this.#lines.shift();
  }

  text(): string {
    const all = this.#partial ? [...this.#lines, this.#partial] : this.#lines;
    return all.join('\n');
  }
}
