import { keyOf } from '@vigil/common'

/** keyOf of each request id, computed once per batch a replica meets and carried with it. */
export function requestKeys(requests: ReadonlyArray<{ id: Uint8Array }>): string[] {
  return requests.map((r) => keyOf(r.id))
}
