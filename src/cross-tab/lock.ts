/** The part of the Web Locks API (`navigator.locks`) the SDK uses; tests pass fakes. */
export interface LockManagerLike {
  request(
    name: string,
    options: { mode?: 'shared' | 'exclusive'; signal?: AbortSignal },
    callback: () => Promise<unknown>,
  ): Promise<unknown>
  query?(): Promise<{ held?: { name?: string }[] }>
}
