import type { AlterTableCmd, ColumnDef, ColumnRef, Constraint, Node } from 'libpg-query'
import { changeCost, typeRefOf, typeText, unknownSourceCost, widenedFrom } from './analyzer-column-types.js'
import { collect, label, stringsOf, type FileState, type Rule } from './analyzer-state.js'
import { volatileCalls } from './analyzer-volatility.js'

/** Column definitions, constraints and type changes on existing tables. */

const SERIAL_TYPES = new Set(['smallserial', 'serial', 'bigserial', 'serial2', 'serial4', 'serial8'])

export function constraintsOf (col: ColumnDef): Constraint[] {
  return (col.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []))
}

export function columnRules (t: string, table: string, col: ColumnDef, state: FileState): Rule[] {
  const out: Rule[] = []
  const name = `${t}.${col.colname ?? '?'}`
  const constraints = constraintsOf(col)
  const def = constraints.find((c) => c.contype === 'CONSTR_DEFAULT')
  const type = typeRefOf(col.typeName)
  const generated = constraints.find((c) => c.contype === 'CONSTR_GENERATED')
  // PostgreSQL 18 computes VIRTUAL generated columns on read: no rewrite.
  const generatedStored = generated !== undefined && generated.generated_kind !== 'v'
  const identity = constraints.some((c) => c.contype === 'CONSTR_IDENTITY')
  const volatile = def !== undefined ? volatileCalls(def.raw_expr) : []
  const domain = state.checkedDomains.has(state.qualifyList(stringsOf(col.typeName?.names)))

  if (volatile.length > 0 || SERIAL_TYPES.has(type.name) || generatedStored || identity || domain) {
    const why = volatile.length > 0
      ? `its default calls ${volatile.join(', ')}(), which is (or may be) volatile: computed for each existing row`
      : SERIAL_TYPES.has(type.name)
        ? `${type.name} fills every existing row from a sequence`
        : generatedStored
          ? 'a stored generated column is computed for every existing row'
          : identity ? 'an identity column is filled for every existing row' : 'its type is a domain with constraints, checked for every existing row'
    out.push({
      rule: 'adding-field-with-default',
      severity: 'high',
      message: `Adding ${name}: ${why}, so PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes until it finishes.`,
      fix: 'Add the column without a default (or with a constant one), backfill existing rows in batches, then SET DEFAULT for new rows (for a generated value: a trigger, or a VIRTUAL column on PostgreSQL 18).'
    })
  } else if (def === undefined && constraints.some((c) => c.contype === 'CONSTR_NOTNULL')) {
    out.push({
      rule: 'adding-required-field',
      severity: 'medium',
      message: `Adding ${name} as NOT NULL without a default fails on a table that has rows, and old code that does not set it can no longer INSERT.`,
      fix: 'Add it nullable (or with a constant DEFAULT), backfill, then add a CHECK (col IS NOT NULL) NOT VALID constraint, VALIDATE it, and SET NOT NULL.'
    })
  }
  for (const c of constraints) out.push(...constraintRules(t, c, `on new column ${name}`))
  return out
}

export function constraintRules (t: string, c: Constraint, where: string): Rule[] {
  switch (c.contype) {
    case 'CONSTR_FOREIGN':
      if (c.skip_validation === true) return []
      return [{
        rule: 'adding-foreign-key-constraint',
        severity: 'high',
        message: `Foreign key${label(c.conname)}${label(where)} on ${t} is validated at once: ${t} and ${c.pktable?.relname ?? '?'} are locked against writes (SHARE ROW EXCLUSIVE) while every row is checked.`,
        fix: 'Add the constraint NOT VALID (instant), then ALTER TABLE ... VALIDATE CONSTRAINT in a later migration, which lets reads and writes continue.'
      }]
    case 'CONSTR_CHECK':
      if (c.skip_validation === true) return []
      return [{
        rule: 'constraint-missing-not-valid',
        severity: 'high',
        message: `CHECK constraint${label(c.conname)}${label(where)} on ${t} scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes.`,
        fix: 'Add it NOT VALID, then VALIDATE CONSTRAINT in a separate migration (only a SHARE UPDATE EXCLUSIVE lock).'
      }]
    case 'CONSTR_UNIQUE':
    case 'CONSTR_PRIMARY':
      if (c.indexname !== undefined) return []
      return [{
        // squawk names the primary-key case adding-serial-primary-key-field.
        rule: c.contype === 'CONSTR_PRIMARY' ? 'adding-serial-primary-key-field' : 'disallowed-unique-constraint',
        severity: 'high',
        message: `${c.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} constraint${label(c.conname)}${label(where)} on ${t} builds its index under an ACCESS EXCLUSIVE lock, blocking reads and writes for the whole build.`,
        fix: `Build the index first with CREATE UNIQUE INDEX CONCURRENTLY (in a -- drawbridge:no-transaction migration), then ADD CONSTRAINT ... ${c.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX.`
      }]
    case 'CONSTR_EXCLUSION':
      return [{
        rule: 'adding-exclusion-constraint',
        severity: 'high',
        message: `EXCLUDE constraint${label(c.conname)}${label(where)} on ${t} builds its index and checks every row under an ACCESS EXCLUSIVE lock, blocking reads and writes; exclusion constraints have no NOT VALID or USING INDEX form.`,
        fix: 'Enforce the rule in a trigger or in the application, or add the constraint in a maintenance window.'
      }]
    case 'CONSTR_NOTNULL':
      // Column-level NOT NULL is part of adding a column (adding-required-field); this is ADD CONSTRAINT ... NOT NULL col.
      if (where !== '' || c.skip_validation === true) return []
      return [{
        rule: 'adding-not-nullable-field',
        severity: 'high',
        message: `NOT NULL constraint${label(c.conname)} on ${t} scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes.`,
        fix: 'Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (no scan on PostgreSQL 12+).'
      }]
    default:
      return []
  }
}

/** The column a `CHECK (col IS NOT NULL)` is about, else null. */
export function notNullCheckColumn (c: Constraint): string | null {
  const expr = c.raw_expr
  if (c.contype !== 'CONSTR_CHECK' || expr === undefined || !('NullTest' in expr)) return null
  const test = expr.NullTest
  if (test.nulltesttype !== 'IS_NOT_NULL' || test.arg === undefined || !('ColumnRef' in test.arg)) return null
  return stringsOf(test.arg.ColumnRef.fields).pop() ?? null
}

/** Columns a CHECK expression reads. */
export function checkedColumns (c: Constraint): string[] {
  return collect<ColumnRef>(c.raw_expr, 'ColumnRef').flatMap((r) => stringsOf(r.fields).slice(-1))
}

/** A USING that only casts the column to the new type changes nothing on its own. */
function trivialUsing (using: Node, column: string): boolean {
  let expr = using
  if ('TypeCast' in expr && expr.TypeCast.arg !== undefined) expr = expr.TypeCast.arg
  return 'ColumnRef' in expr && stringsOf(expr.ColumnRef.fields).pop() === column
}

export function typeChangeRules (t: string, table: string, cmd: AlterTableCmd, state: FileState): Rule[] {
  const col = cmd.name ?? '?'
  const def = cmd.def !== undefined && 'ColumnDef' in cmd.def ? cmd.def.ColumnDef : undefined
  const to = typeRefOf(def?.typeName)
  const key = `${table}.${col}`
  const from = state.columns.get(key) ?? null
  state.columns.set(key, to)
  const using = def?.raw_default !== undefined && !(from !== null && trivialUsing(def.raw_default, col))
  const rewrite = (why: string): Rule => ({
    rule: 'changing-column-type',
    severity: 'high',
    message: `Changing ${t}.${col} to ${typeText(to)}${why}: PostgreSQL rewrites the table and rebuilds its indexes under an ACCESS EXCLUSIVE lock, blocking reads and writes until done.`,
    fix: 'Add a new column of the new type, dual-write and backfill it in batches, switch reads, then drop the old column.'
  })
  if (using) return [rewrite(' with a USING conversion')]
  const cost = from !== null ? changeCost(from, to) : null
  if (def?.collClause !== undefined && cost !== 'rewrite') {
    return [{
      rule: 'changing-column-type',
      severity: 'high',
      message: `Changing the collation of ${t}.${col} rebuilds every index on the column under an ACCESS EXCLUSIVE lock (blocking reads and writes for the build)${from === null ? ', and rewrites the table unless it is already of that type' : ''}; sort order and uniqueness follow the new collation.`,
      fix: 'Add a new column with the new collation, backfill it in batches, build its indexes CONCURRENTLY, then switch.'
    }]
  }
  const was = from !== null ? ` from ${typeText(from)}` : ''
  switch (cost) {
    case 'rewrite': return [rewrite(was)]
    case 'none': {
      const checked = state.checkedColumns.has(key)
      if (!checked) return []
      return [{
        rule: 'changing-column-type',
        severity: 'medium',
        message: `Changing ${t}.${col}${was} to ${typeText(to)} needs no rewrite, but the CHECK constraints on the column are re-checked with a full scan under the ACCESS EXCLUSIVE lock.`,
        fix: 'Drop the CHECK constraint first, change the type, re-add the constraint NOT VALID and VALIDATE it in a later migration.'
      }]
    }
    case 'indexes':
      return [{
        rule: 'changing-column-type',
        severity: 'low',
        message: `Changing ${t}.${col}${was} to ${typeText(to)} needs no table rewrite, but any index on the column is rebuilt (its operator class changes) under the ACCESS EXCLUSIVE lock.`,
        fix: 'If the column is indexed: build the new index CONCURRENTLY on a new column instead, or accept the lock in a maintenance window.'
      }]
    case 'timezone':
      return [{
        rule: 'changing-column-type',
        severity: 'low',
        message: `Changing ${t}.${col}${was} to ${typeText(to)} needs no rewrite only when the session TimeZone is UTC (PostgreSQL 12+); otherwise the table is rewritten under an ACCESS EXCLUSIVE lock.`,
        fix: 'Run it with SET LOCAL TimeZone = \'UTC\' in the same migration, or check with a rehearsal.'
      }]
    default:
      break
  }
  switch (unknownSourceCost(to)) {
    case 'rewrite': return [rewrite('')]
    case 'likely':
      return [{
        rule: 'changing-column-type',
        severity: 'low',
        message: `Changing ${t}.${col} to ${typeText(to)} is catalog-only (a brief ACCESS EXCLUSIVE lock, indexes kept) when the column is ${widenedFrom(to)}; from any other type, or to a lower limit, it rewrites the table under that lock.`,
        fix: 'Check the current type (or rehearse); for a rewriting change, add a new column, backfill in batches and switch.'
      }]
    default:
      return [{
        rule: 'changing-column-type',
        severity: 'medium',
        message: `Changing ${t}.${col} to ${typeText(to)} narrows the default precision (6) or the interval fields unless the column is already that narrow: truncating every value rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes.`,
        fix: 'Keep the precision, round in the application, or add a new column, backfill it in batches and switch.'
      }]
  }
}
