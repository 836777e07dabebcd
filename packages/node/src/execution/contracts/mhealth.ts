import { method, type CallContext, type Contract, type QueryContext } from '../contract.js'
import { ExecError, ResultCode } from '../errors.js'
import { MAX_SCAN_LIMIT, type ReadNamespace } from '../overlay.js'
import { PATIENT_ID, PATIENT_PROFILE, PUBLIC_KEY_HEX, SLEEP_DIARY_ENTRY, object } from '../schemas.js'

/**
 * `mhealth`: the sleep diary of a study of a smartphone CBT-for-insomnia app.
 *
 * Every validator holds every record for ever: patients are pseudonyms, profiles carry study
 * data only (schemas.ts), and deployments must tell participants that entries are visible to
 * all validators until payloads are encrypted (see EntryRecord.payload).
 *
 * Keys of an instance:
 *   patient/<patientId>               PatientRecord (rewritten by grants and appends)
 *   entry/<patientId>/<n, 9 digits>   EntryRecord, n = 1, 2, ...; written once, never changed:
 *                                     no method overwrites or deletes an entry.
 */

export interface PatientRecord {
  /** The registering signer's public key (hex): the patient's key. */
  patientKey: string
  profile: { studyArm: string; yearOfBirth?: number }
  /** Keys (hex) the patient granted to append, sorted. */
  clinicians: string[]
  entryCount: number
  registered: { height: number; time: number }
}

export interface EntryRecord {
  n: number
  /** The diary night, kept beside the payload so range queries work on any payload format. */
  date: string
  /** Public key (hex) of the signer: the patient or a granted clinician. */
  author: string
  height: number
  /** Block time (ms) of the appending transaction. */
  time: number
  /** Transaction id (hex), linking the entry to its signed request. */
  tx: string
  /**
   * Versioned so an encrypted format (e.g. {format: 'x25519-aes256gcm/v1', data: <ciphertext>})
   * can be introduced later beside 'plain/v1' without changing keys, the ledger or old entries.
   */
  payload: { format: 'plain/v1'; data: Record<string, unknown> }
}

const MAX_CLINICIANS = 32
const MAX_ENTRIES = 999_999_999
/** Most entries one `entries` query reads before it returns a cursor. */
const MAX_ENTRIES_SCANNED = 10 * MAX_SCAN_LIMIT

const patientRecordKey = (patientId: string): string => `patient/${patientId}`
/** Prefetch hint: the patient record every write method reads first. */
const patientRead = (a: Record<string, unknown>): string[] => (typeof a.patientId === 'string' ? [patientRecordKey(a.patientId)] : [])
const entryPrefix = (patientId: string): string => `entry/${patientId}/`
// Zero-padded so key order is entry order; String() of an integer does not depend on locale.
const entryRecordKey = (patientId: string, n: number): string => entryPrefix(patientId) + String(n).padStart(9, '0')

async function loadPatient(state: Pick<ReadNamespace, 'get'>, patientId: string): Promise<PatientRecord> {
  const record = await state.get(patientRecordKey(patientId))
  if (record === undefined) throw new ExecError(ResultCode.NOT_FOUND, `no patient "${patientId}"`)
  return record as PatientRecord
}

/** Grants and revocations: only the patient's own key. */
async function loadOwnPatient({ tx, state }: CallContext, patientId: string): Promise<PatientRecord> {
  const patient = await loadPatient(state, patientId)
  if (patient.patientKey !== tx.signerHex) throw new ExecError(ResultCode.UNAUTHORIZED, `only the patient's key may change access to "${patientId}"`)
  return patient
}

interface PatientArgs {
  patientId: string
}
interface AccessArgs {
  patientId: string
  clinicianKey: string
}
interface EntriesArgs {
  patientId: string
  from?: string
  to?: string
  after?: number
  limit?: number
}

const DATE = { type: 'string', format: 'date', maxLength: 10 }
const ACCESS_ARGS = object({ patientId: PATIENT_ID, clinicianKey: PUBLIC_KEY_HEX })

export const mhealth: Contract = {
  name: 'mhealth',
  summary: 'Sleep diaries of a CBT-for-insomnia study: pseudonymous patients, clinician grants, append-only entries.',
  methods: {
    registerPatient: method<{ patientId: string; profile: PatientRecord['profile'] }>({
      summary: "Registers a pseudonymous patient; the signer's key becomes the patient's key.",
      args: object({ patientId: PATIENT_ID, profile: PATIENT_PROFILE }),
      reads: patientRead,
      records: ['profile'],
      run: async ({ tx, state }, { patientId, profile }) => {
        const key = patientRecordKey(patientId)
        if ((await state.get(key)) !== undefined) throw new ExecError(ResultCode.CONFLICT, `patient "${patientId}" is already registered`)
        const record: PatientRecord = { patientKey: tx.signerHex, profile, clinicians: [], entryCount: 0, registered: { height: tx.height, time: tx.time } }
        state.put(key, record)
        return null
      },
    }),
    grantClinician: method<AccessArgs>({
      summary: 'Lets a clinician key append entries for the patient (patient only).',
      args: ACCESS_ARGS,
      reads: patientRead,
      run: async (ctx, { patientId, clinicianKey }) => {
        const patient = await loadOwnPatient(ctx, patientId)
        if (clinicianKey === patient.patientKey) throw new ExecError(ResultCode.BAD_ARGS, "the patient's own key needs no grant")
        if (patient.clinicians.includes(clinicianKey)) throw new ExecError(ResultCode.CONFLICT, 'clinician already granted')
        if (patient.clinicians.length >= MAX_CLINICIANS) throw new ExecError(ResultCode.CONFLICT, `a patient grants at most ${MAX_CLINICIANS} clinicians`)
        // Hex strings of one length: code-unit order is byte order.
        patient.clinicians = [...patient.clinicians, clinicianKey].sort()
        ctx.state.put(patientRecordKey(patientId), patient)
        return null
      },
    }),
    revokeClinician: method<AccessArgs>({
      summary: "Withdraws a clinician's grant (patient only); entries already written stay.",
      args: ACCESS_ARGS,
      reads: patientRead,
      run: async (ctx, { patientId, clinicianKey }) => {
        const patient = await loadOwnPatient(ctx, patientId)
        if (!patient.clinicians.includes(clinicianKey)) throw new ExecError(ResultCode.NOT_FOUND, 'clinician not granted')
        patient.clinicians = patient.clinicians.filter((k) => k !== clinicianKey)
        ctx.state.put(patientRecordKey(patientId), patient)
        return null
      },
    }),
    appendEntry: method<{ patientId: string; entry: Record<string, unknown> }>({
      summary: 'Appends a sleep-diary entry (patient or granted clinician); returns its number.',
      args: object({ patientId: PATIENT_ID, entry: SLEEP_DIARY_ENTRY }),
      reads: patientRead,
      records: ['entry'],
      run: async ({ tx, state }, { patientId, entry }) => {
        const patient = await loadPatient(state, patientId)
        const allowed = patient.patientKey === tx.signerHex || patient.clinicians.includes(tx.signerHex)
        if (!allowed) throw new ExecError(ResultCode.UNAUTHORIZED, `signer may not append to "${patientId}"`)
        const n = patient.entryCount + 1
        if (n > MAX_ENTRIES) throw new ExecError(ResultCode.CONFLICT, `patient "${patientId}" has the maximum of ${MAX_ENTRIES} entries`)
        const record: EntryRecord = {
          n,
          date: entry.date as string,
          author: tx.signerHex,
          height: tx.height,
          time: tx.time,
          tx: tx.id,
          payload: { format: 'plain/v1', data: entry },
        }
        state.put(entryRecordKey(patientId, n), record)
        state.put(patientRecordKey(patientId), { ...patient, entryCount: n })
        return n
      },
    }),
  },
  queries: {
    patient: method<PatientArgs, QueryContext>({
      summary: 'Profile, granted clinicians and entry count of a patient.',
      args: object({ patientId: PATIENT_ID }),
      run: async ({ state }, { patientId }) => ({ patientId, ...(await loadPatient(state, patientId)) }),
    }),
    entries: method<EntriesArgs, QueryContext>({
      summary: 'Entries whose date is in [from, to], in entry order; `next` is the `after` of the next page, or null.',
      args: object(
        { patientId: PATIENT_ID, from: DATE, to: DATE, after: { type: 'integer', minimum: 0, maximum: MAX_ENTRIES }, limit: { type: 'integer', minimum: 1, maximum: MAX_SCAN_LIMIT } },
        ['patientId'],
      ),
      run: async ({ state }, args) => readEntries(state, args),
    }),
  },
}

async function readEntries(state: ReadNamespace, { patientId, from, to, after = 0, limit = MAX_SCAN_LIMIT }: EntriesArgs): Promise<{ entries: EntryRecord[]; next: number | null }> {
  if (from !== undefined && to !== undefined && from > to) throw new ExecError(ResultCode.BAD_ARGS, `from (${from}) is after to (${to})`)
  const { entryCount } = await loadPatient(state, patientId)
  const entries: EntryRecord[] = []
  let last = after
  let more = last < entryCount
  // Entries are in append order, not date order, so the range filters rather than seeks;
  // the scan stops at `limit` matches or MAX_ENTRIES_SCANNED reads and hands back a cursor.
  while (more && entries.length < limit && last - after < MAX_ENTRIES_SCANNED) {
    const rows = await state.scan({ prefix: entryPrefix(patientId), gte: entryRecordKey(patientId, last + 1), limit: MAX_SCAN_LIMIT })
    for (const { value } of rows) {
      const entry = value as EntryRecord
      last = entry.n
      if ((from === undefined || entry.date >= from) && (to === undefined || entry.date <= to)) entries.push(entry)
      if (entries.length === limit) break
    }
    more = rows.length > 0 && last < entryCount
  }
  return { entries, next: more ? last : null }
}
