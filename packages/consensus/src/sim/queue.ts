/** Min-heap of timed events; ties run in scheduling order, so a run is a pure function of the seed. */
export interface Timed {
  at: number
  order: number
}

export class EventQueue<T extends Timed> {
  private readonly heap: T[] = []
  private counter = 0

  get size(): number {
    return this.heap.length
  }

  /** `order` is assigned here. */
  push(e: Omit<T, 'order'>): void {
    const item = { ...e, order: this.counter++ } as T
    const h = this.heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  pop(): T | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (h.length > 0 && last !== undefined) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }

  private less(a: T, b: T): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order)
  }
}
