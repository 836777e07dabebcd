/**
 * libp2p 3, noise, yamux and tcp call `Promise.withResolvers`, which Node 20 lacks
 * (../../../../../shared/stack-notes.md). Import this module before anything that imports libp2p;
 * on Node 22+ it does nothing.
 */
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor): PromiseWithResolvers<T> {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new this<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

export {}
