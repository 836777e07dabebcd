/** Arrays up to this length are insertion-sorted in place: Array.prototype.sort allocated ~0.5-1 KB per call even for two items. */
const SMALL = 16

/** Sorts `items` in place by `order` (as Array.prototype.sort does) and returns it, without garbage for short arrays. */
export function sortInPlace<T>(items: T[], order: (a: T, b: T) => number): T[] {
  if (items.length > SMALL) return items.sort(order)
  for (let i = 1; i < items.length; i++) {
    const item = items[i]!
    let j = i - 1
    for (; j >= 0 && order(items[j]!, item) > 0; j--) items[j + 1] = items[j]!
    items[j + 1] = item
  }
  return items
}
