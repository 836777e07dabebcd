/** f: the Byzantine validators a network of n tolerates (n >= 3f+1). */
export const faultTolerance = (n: number): number => Math.floor((n - 1) / 3)
/**
 * The quorum of every certificate (PREPARE, COMMIT, CHECKPOINT, VIEW-CHANGE): the smallest q with
 * 2q - n >= f+1, so any two quorums share at least f+1 validators, one of them honest. That is
 * ceil((n+f+1)/2); it equals 2f+1 only when n = 3f+1 (n = 5 or 6 needs 4, not 3).
 */
export const quorumSize = (n: number): number => Math.ceil((n + faultTolerance(n) + 1) / 2)
