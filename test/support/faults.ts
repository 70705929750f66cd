/**
 * Fault injection around a real adapter: `intercept` replaces some methods (the
 * replacement gets the real object to call through to); every other call goes to the
 * real adapter unchanged.
 */
export function intercept<T extends object>(
  target: T,
  overrides: {
    [K in keyof T]?: T[K] extends (...args: infer A) => infer R
      ? (real: T, ...args: A) => R
      : never;
  },
): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const override = (overrides as Record<PropertyKey, unknown>)[property];
      if (typeof override === 'function') return (...args: unknown[]) => override(object, ...args);
      const value = Reflect.get(object, property, receiver);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

/**
 * A process that dies: after `kill()` every call through a guarded adapter rejects, so
 * the "dead" worker can write nothing more, exactly like a crashed Lambda.
 */
export class SimulatedCrash {
  dead = false;

  kill(point: string): never {
    this.dead = true;
    throw new Error(`simulated crash ${point}`);
  }

  guard<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (this.dead) return Promise.reject(new Error('the process has crashed'));
          return value.apply(object, args);
        };
      },
    });
  }
}
