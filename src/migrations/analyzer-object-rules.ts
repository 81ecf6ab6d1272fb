import type { AlterDomainStmt, AlterObjectSchemaStmt, DropStmt, Node, RenameStmt } from 'libpg-query'
import { displayName, stringsOf, type FileState, type Rule } from './analyzer-state.js'

/**
 * Objects other than table columns: drops and renames of every kind, schema
 * moves, domains, enums and sequences. A rename or a move breaks running code
 * that still uses the old name; a drop also loses what the object held.
 */

/** Dotted name parts of a DROP / RENAME object node. */
export function objectParts (node: Node | undefined): string[] {
  if (node === undefined) return []
  if ('List' in node) return stringsOf(node.List.items)
  if ('TypeName' in node) return stringsOf(node.TypeName.names)
  if ('ObjectWithArgs' in node) return stringsOf(node.ObjectWithArgs.objname)
  if ('String' in node) return [node.String.sval ?? '?']
  return []
}

const KIND_NAMES: Record<string, string> = {
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_TYPE: 'type',
  OBJECT_DOMAIN: 'domain',
  OBJECT_FUNCTION: 'function',
  OBJECT_PROCEDURE: 'procedure',
  OBJECT_ROUTINE: 'routine',
  OBJECT_AGGREGATE: 'aggregate',
  OBJECT_EXTENSION: 'extension',
  OBJECT_FOREIGN_TABLE: 'foreign table',
  OBJECT_INDEX: 'index',
  OBJECT_SCHEMA: 'schema',
  OBJECT_TABLE: 'table',
  OBJECT_TABCONSTRAINT: 'constraint',
  OBJECT_ROLE: 'role',
  OBJECT_DATABASE: 'database',
  OBJECT_COLLATION: 'collation'
}
const RELATION_KINDS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_SEQUENCE', 'OBJECT_INDEX', 'OBJECT_FOREIGN_TABLE'])
const TYPE_KINDS = new Set(['OBJECT_TYPE', 'OBJECT_DOMAIN'])

function isNewObject (kind: string, qualified: string, state: FileState): boolean {
  if (RELATION_KINDS.has(kind)) return state.isNew(qualified)
  if (TYPE_KINDS.has(kind)) return state.isNewType(qualified)
  if (kind === 'OBJECT_SCHEMA') return state.schemas.has(qualified.split('.').pop() ?? '')
  return false
}

export function dropObjectRules (stmt: DropStmt, state: FileState): Rule[] {
  const kind = stmt.removeType ?? ''
  const what = KIND_NAMES[kind]
  if (what === undefined || kind === 'OBJECT_TABLE' || kind === 'OBJECT_SCHEMA' || kind === 'OBJECT_INDEX' || kind === 'OBJECT_ROLE' || kind === 'OBJECT_DATABASE') return []
  const names = (stmt.objects ?? []).map(objectParts).filter((p) => !isNewObject(kind, state.qualifyList(p), state)).map((p) => p.join('.'))
  if (names.length === 0) return []
  const cascade = stmt.behavior === 'DROP_CASCADE'
  return [{
    rule: 'ban-drop-object',
    severity: cascade || kind === 'OBJECT_SEQUENCE' ? 'high' : 'medium',
    message: `Dropping ${what} ${names.join(', ')} breaks running code that still uses it` +
      (cascade
        ? '; CASCADE also drops everything that depends on it — views, column defaults, and for a type or domain the table columns of that type with their data.'
        : kind === 'OBJECT_SEQUENCE' ? ', and loses its position: recreating it hands out numbers already used.' : '.'),
    fix: 'Stop using it in a release first, then drop it in a later migration without CASCADE, so PostgreSQL refuses while something still depends on it.'
  }]
}

/** Renames that break running code: everything code refers to by name. */
export function renameRules (stmt: RenameStmt, state: FileState): Rule[] {
  const kind = stmt.renameType ?? ''
  const relation = stmt.relation !== undefined ? state.qualify(stmt.relation) : null
  if (relation !== null && (state.isNew(relation) || (kind === 'OBJECT_ATTRIBUTE' && state.isNewType(relation)))) return []
  const to = stmt.newname ?? '?'
  if (kind === 'OBJECT_COLUMN' || kind === 'OBJECT_ATTRIBUTE') {
    return [{
      rule: 'renaming-column',
      severity: 'medium',
      message: `Renaming ${displayName(stmt.relation)}.${stmt.subname ?? '?'} to ${to} breaks every running instance of the old code that uses the old name.`,
      fix: 'Add the new column, write to both, backfill, move reads, then drop the old one; or gate the new code behind a flag activated by this migration.'
    }]
  }
  if (kind === 'OBJECT_TABLE') {
    return [{
      rule: 'renaming-table',
      severity: 'medium',
      message: `Renaming table ${displayName(stmt.relation)} to ${to} breaks every running instance of the old code that uses the old name.`,
      fix: 'Create the new table (or a view with the old name over it), migrate code, then drop the old name later.'
    }]
  }
  const what = KIND_NAMES[kind]
  if (what === undefined) return []
  let old: string
  if (kind === 'OBJECT_SCHEMA' || kind === 'OBJECT_ROLE' || kind === 'OBJECT_DATABASE') old = stmt.subname ?? '?'
  else if (kind === 'OBJECT_TABCONSTRAINT') old = `${stmt.subname ?? '?'} on ${displayName(stmt.relation)}`
  else old = relation !== null ? displayName(stmt.relation) : objectParts(stmt.object).join('.')
  if (relation === null && isNewObject(kind, state.qualifyList(kind === 'OBJECT_SCHEMA' ? [old] : objectParts(stmt.object)), state)) return []
  return [{
    rule: 'renaming-object',
    severity: 'medium',
    message: `Renaming ${what} ${old} to ${to} breaks running code that still uses the old name (queries, casts, ON CONFLICT ON CONSTRAINT, nextval, grants, connection settings).`,
    fix: 'Ship code that no longer uses the old name first; for views and functions, create the new name alongside the old one and drop the old one later.'
  }]
}

export function setSchemaRules (stmt: AlterObjectSchemaStmt, state: FileState): Rule[] {
  const kind = stmt.objectType ?? ''
  const what = KIND_NAMES[kind]
  if (what === undefined) return []
  const parts = stmt.relation !== undefined ? [stmt.relation.schemaname ?? state.searchSchema, stmt.relation.relname ?? '?'] : objectParts(stmt.object)
  if (isNewObject(kind, state.qualifyList(parts), state)) return []
  return [{
    rule: 'renaming-object',
    severity: 'medium',
    message: `Moving ${what} ${parts.join('.')} to schema ${stmt.newschema ?? '?'} renames it for every query: running code that finds it through the search_path or by its old schema breaks.`,
    fix: 'Ship code that uses the new qualified name first (or put both schemas on the search_path), then move it.'
  }]
}

export function alterDomainRules (stmt: AlterDomainStmt, state: FileState): Rule[] {
  const name = stringsOf(stmt.typeName).join('.')
  if (state.isNewType(state.qualifyList(stringsOf(stmt.typeName)))) return []
  if (stmt.subtype === 'C') {
    const c = stmt.def !== undefined && 'Constraint' in stmt.def ? stmt.def.Constraint : undefined
    if (c?.skip_validation === true) return []
    return [{
      rule: 'ban-alter-domain-with-add-constraint',
      severity: 'high',
      message: `Adding a constraint to domain ${name} checks every column of that domain in every table, locking each of those tables against writes while it is scanned.`,
      fix: 'Add the constraint NOT VALID and VALIDATE CONSTRAINT it in a later migration, or use table CHECK constraints instead of domain constraints.'
    }]
  }
  if (stmt.subtype === 'O') {
    return [{
      rule: 'adding-not-nullable-field',
      severity: 'high',
      message: `SET NOT NULL on domain ${name} scans every column of that domain in every table, locking each of those tables against writes while it is scanned.`,
      fix: 'Use NOT NULL on the table columns (via a validated CHECK (col IS NOT NULL)) instead of on the domain.'
    }]
  }
  return []
}

export function enumRules (stmt: Extract<Node, { AlterEnumStmt: unknown }>['AlterEnumStmt'], state: FileState, line: number): Rule[] {
  const type = stringsOf(stmt.typeName)
  if (stmt.oldVal !== undefined) {
    if (state.isNewType(state.qualifyList(type))) return []
    return [{
      rule: 'renaming-object',
      severity: 'medium',
      message: `Renaming value '${stmt.oldVal}' of enum ${type.join('.')} to '${stmt.newVal ?? '?'}' breaks running code that still writes or compares the old value.`,
      fix: 'Add the new value, move code and data to it, and stop using the old one (enum values cannot be dropped).'
    }]
  }
  if (stmt.newVal !== undefined && state.tx.open && !state.isNewType(state.qualifyList(type))) state.tx.enumValues.set(stmt.newVal, line)
  return []
}

export function sequenceRules (stmt: Extract<Node, { AlterSeqStmt: unknown }>['AlterSeqStmt'], state: FileState): Rule[] {
  const restart = (stmt.options ?? []).some((o) => 'DefElem' in o && o.DefElem.defname === 'restart')
  if (!restart || state.isNew(state.qualify(stmt.sequence))) return []
  return [{
    rule: 'restarting-sequence',
    severity: 'medium',
    message: `RESTART sets the position of sequence ${displayName(stmt.sequence)}: unless it is past every value already handed out, nextval() gives out used numbers again and inserts that rely on it fail with duplicate keys.`,
    fix: 'Only move a sequence forward (setval to max(id) + 1 or more).'
  }]
}
