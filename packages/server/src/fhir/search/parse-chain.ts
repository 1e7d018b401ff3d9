/**
 * Parses chained parameters and reverse chaining (https://hl7.org/fhir/R4/search.html#chaining,
 * #has) into criteria that compile-chain.ts turns into nested subqueries:
 *   subject:Patient.name=Smith          a chain with a type modifier
 *   subject.organization.name=Acme      a chain through two references
 *   _has:Observation:patient:code=1234  resources some Observation points at with `patient`
 * A chain or `_has` goes at most MAX_HOPS references deep (`_has` inside `_has` is two).
 *
 * A chain without a type modifier, on a reference that may point at several types, searches
 * every target type that has the next parameter (the spec's reading: the chain applies to each
 * type it can), and is a 400 when none has it, when the parameter is of different kinds on
 * different types (a string here, a token there), or when the reference may point at any
 * type at all. Types the caller may not read are left out of that fan-out; a type named
 * explicitly (`:Type`, `_has:Type`) that the caller may not read is a 403.
 */
import { isKnownResourceType } from '../definitions.js';
import { badRequest } from '../outcomes.js';
import { splitUnescaped } from './escaping.js';
import type { SearchFilter } from './parse.js';
import { lookupParam, type SearchParam } from './search-params.js';
import { assertReadable } from './type-access.js';

export const MAX_HOPS = 2;

export interface ChainFilter {
  kind: 'chain';
  /** The parameter as sent (`subject:Patient.name`): what errors point at. */
  name: string;
  /** The reference parameter on the current type. */
  reference: SearchParam;
  /** One branch per target type searched, any of which may match. */
  targets: Array<{ type: string; criterion: Criterion }>;
}

export interface HasFilter {
  kind: 'has';
  name: string;
  /** The type holding the reference (`Observation` in `_has:Observation:patient:code`). */
  sourceType: string;
  /** Its reference parameter that must point at the current resource. */
  reference: SearchParam;
  /** What the referring resource must match. */
  criterion: Criterion;
}

export type LinkedFilter = ChainFilter | HasFilter;

/** A condition on one resource: a plain parameter, or one that follows references. */
export type Criterion = SearchFilter | LinkedFilter;

interface ChainContext {
  name: string;
  values: string[];
  unreadable: readonly string[];
}

/** Whether a parameter name is a chain or a `_has`, for parse.ts to hand it here. */
export function isLinkedName(name: string): boolean {
  return name.startsWith('_has:') || name.includes('.');
}

/**
 * Parses one chained or `_has` parameter on `resourceType`. Returns undefined when `refuse`
 * (lenient handling) chose to ignore a parameter whose first code is unknown; any other
 * problem is a 400 (or a 403 for an unreadable type named explicitly).
 */
export function parseLinked(
  resourceType: string,
  name: string,
  value: string,
  unreadable: readonly string[],
  refuse: (text: string, name: string) => undefined,
): LinkedFilter | undefined {
  const values = splitUnescaped(value, ',').filter((v) => v !== '');
  if (values.length === 0) {
    return undefined;
  }
  const ctx: ChainContext = { name, values, unreadable };
  if (name.startsWith('_has:')) {
    const has = parseHas(resourceType, name, ctx, 1);
    if (!has) {
      throw badRequest(`${name}: "${name.split(':')[2]}" of ${name.split(':')[1]} cannot point at ${resourceType}`, name);
    }
    return has;
  }
  const code = firstCode(name);
  if (!lookupParam(resourceType, code).param) {
    return refuse(`"${code}" is not a search parameter of ${resourceType}`, name);
  }
  return parseChain(resourceType, name, ctx, 1) as ChainFilter;
}

/** A condition on `type`; undefined when the type has no such parameter (so a fan-out skips it). */
function parseCriterion(type: string, expr: string, ctx: ChainContext, hops: number): Criterion | undefined {
  if (expr.startsWith('_has:')) {
    return parseHas(type, expr, ctx, hops + 1);
  }
  if (expr.includes('.')) {
    return parseChain(type, expr, ctx, hops + 1);
  }
  return parseLeaf(type, expr, ctx);
}

function parseChain(type: string, expr: string, ctx: ChainContext, hops: number): ChainFilter | undefined {
  checkDepth(hops, ctx);
  const dot = expr.indexOf('.');
  const [code, typeModifier, ...extra] = expr.slice(0, dot).split(':') as [string, string?, ...string[]];
  const rest = expr.slice(dot + 1);
  const { param } = lookupParam(type, code);
  if (!param) {
    return undefined;
  }
  if (param.type !== 'reference' || extra.length > 0 || rest === '') {
    throw badRequest(`${ctx.name}: only a reference parameter, with an optional :Type, can be chained ("${code}" of ${type} is a ${param.type} parameter)`, ctx.name);
  }
  if (typeModifier !== undefined) {
    const allowed = param.targets.length === 0 ? isKnownResourceType(typeModifier) : param.targets.includes(typeModifier);
    if (!allowed) {
      throw badRequest(`${ctx.name}: "${code}" of ${type} cannot point at "${typeModifier}"`, ctx.name);
    }
    assertReadable(ctx.unreadable, typeModifier, ctx.name);
    return { kind: 'chain', name: ctx.name, reference: param, targets: [{ type: typeModifier, criterion: required(typeModifier, rest, ctx, hops) }] };
  }
  if (param.targets.length === 0) {
    throw badRequest(`${ctx.name}: "${code}" of ${type} may point at any type; name one, as in ${code}:Patient.${rest}`, ctx.name);
  }
  return { kind: 'chain', name: ctx.name, reference: param, targets: fanOut(type, code, param.targets, rest, ctx, hops) };
}

/** The branches of a chain without a type modifier: each readable target type that has the next parameter. */
function fanOut(type: string, code: string, targets: readonly string[], rest: string, ctx: ChainContext, hops: number): ChainFilter['targets'] {
  const readable = targets.filter((t) => !ctx.unreadable.includes(t));
  if (readable.length === 0) {
    assertReadable(ctx.unreadable, targets[0] as string, ctx.name);
  }
  const branches = readable.flatMap((t) => {
    const criterion = parseCriterion(t, rest, ctx, hops);
    return criterion ? [{ type: t, criterion }] : [];
  });
  if (branches.length === 0) {
    throw badRequest(`${ctx.name}: none of the types "${code}" of ${type} may point at (${readable.join(', ')}) has a search parameter "${firstCode(rest)}"`, ctx.name);
  }
  const kinds = new Set(branches.map((b) => kindOf(b.criterion)));
  if (kinds.size > 1) {
    throw badRequest(`${ctx.name}: "${firstCode(rest)}" means different things on ${branches.map((b) => b.type).join(', ')}; name a type, as in ${code}:${branches[0]?.type}.${rest}`, ctx.name);
  }
  return branches;
}

function parseHas(type: string, expr: string, ctx: ChainContext, hops: number): HasFilter | undefined {
  checkDepth(hops, ctx);
  const parts = expr.split(':');
  const [, sourceType, refCode] = parts as [string, string?, string?];
  const rest = parts.slice(3).join(':');
  if (sourceType === undefined || refCode === undefined || rest === '') {
    throw badRequest(`${ctx.name}: write _has:Type:reference:parameter=value`, ctx.name);
  }
  if (!isKnownResourceType(sourceType)) {
    throw badRequest(`${ctx.name}: "${sourceType}" is not a resource type`, ctx.name);
  }
  assertReadable(ctx.unreadable, sourceType, ctx.name);
  const { param } = lookupParam(sourceType, refCode);
  if (!param || param.type !== 'reference') {
    throw badRequest(`${ctx.name}: "${refCode}" is not a reference parameter of ${sourceType}`, ctx.name);
  }
  if (param.targets.length > 0 && !param.targets.includes(type)) {
    return undefined;
  }
  return { kind: 'has', name: ctx.name, sourceType, reference: param, criterion: required(sourceType, rest, ctx, hops) };
}

function parseLeaf(type: string, expr: string, ctx: ChainContext): SearchFilter | undefined {
  const [code, modifier, ...extra] = expr.split(':') as [string, string?, ...string[]];
  const { param, unsupportedType } = lookupParam(type, code);
  if (unsupportedType) {
    throw badRequest(`${ctx.name}: "${code}" is a ${unsupportedType} parameter, which this server does not search on`, ctx.name);
  }
  if (!param) {
    return undefined;
  }
  if (extra.length > 0) {
    throw badRequest(`${ctx.name}: a parameter takes one modifier`, ctx.name);
  }
  return { name: ctx.name, param, modifier, values: ctx.values };
}

function required(type: string, expr: string, ctx: ChainContext, hops: number): Criterion {
  const criterion = parseCriterion(type, expr, ctx, hops);
  if (!criterion) {
    throw badRequest(`${ctx.name}: "${firstCode(expr)}" is not a search parameter of ${type}`, ctx.name);
  }
  return criterion;
}

function checkDepth(hops: number, ctx: ChainContext): void {
  if (hops > MAX_HOPS) {
    throw badRequest(`${ctx.name}: chains and _has follow at most ${MAX_HOPS} references`, ctx.name);
  }
}

/** `name` of `name:exact`, `subject` of `subject:Patient.name`, `_has` of `_has:...`. */
function firstCode(expr: string): string {
  return expr.split(/[.:]/)[0] as string;
}

function kindOf(criterion: Criterion): string {
  return 'kind' in criterion ? criterion.kind : criterion.param.type;
}
