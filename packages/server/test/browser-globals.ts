/**
 * What MedplumClient expects of a browser when it signs in: `window`, `location` at the app's
 * origin and `sessionStorage` (where it keeps the PKCE verifier). With these it hashes the
 * verifier with S256 as a browser does, instead of falling back to `plain`, which the server
 * refuses. Web Crypto itself is Node's own `globalThis.crypto`.
 */
class MemoryStorage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  clear(): void {
    this.items.clear();
  }
}

export function installBrowserGlobals(origin: string): void {
  const g = globalThis as Record<string, unknown>;
  const url = new URL(origin);
  g.window = globalThis;
  g.location = Object.assign(url, { assign: () => undefined, reload: () => undefined });
  g.sessionStorage = new MemoryStorage();
  g.localStorage = new MemoryStorage();
  g.addEventListener ??= () => undefined;
  g.removeEventListener ??= () => undefined;
}
