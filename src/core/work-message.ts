/** A work message as a worker receives it: checked, so one bad message cannot stop a batch. */
export interface WorkMessage {
  id: string;
  dueAt: number;
}

/** Parses a work-queue message body; the error says what is wrong with it. */
export function parseWorkMessage(body: string): WorkMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new TypeError(`work message is not JSON: ${body.slice(0, 80)}`);
  }
  const message = value as Partial<WorkMessage> | null;
  if (
    typeof message !== 'object' ||
    message === null ||
    typeof message.id !== 'string' ||
    message.id.length === 0
  ) {
    throw new TypeError('work message has no "id" (the record id)');
  }
  if (message.id.length > 2048)
    throw new TypeError('work message "id" is longer than 2048 characters');
  return { id: message.id, dueAt: typeof message.dueAt === 'number' ? message.dueAt : 0 };
}
