import { VigilError } from '@vigil/common'

/**
 * A record read from disk that cannot be decoded or contradicts the chain (LevelDB corruption,
 * a flipped byte, an edit behind the store's back). Names the record so an operator can act;
 * callers never see a raw decoder or LevelDB exception for stored data.
 */
export class CorruptionError extends VigilError {
  readonly record: string
  constructor(record: string, message: string) {
    super('CORRUPT', `${record}: ${message}`)
    this.name = 'CorruptionError'
    this.record = record
  }
}
