/** Where a spy on a method that a class inherits has to go. */

/** The object on `proto`'s chain that defines `name` itself. */
export function protoWith<K extends string>(proto: object, name: K): Record<K, (...args: never[]) => unknown> {
  for (let at: object | null = proto; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    if (Object.hasOwn(at, name)) return at as Record<K, (...args: never[]) => unknown>;
  }
  throw new Error(`no ${name} on the chain`);
}
